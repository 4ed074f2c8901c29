"""Streaming corpus reader: files, directories and globs of raw text in, documents out.

A *document* is a `list[str]` of sentences. Three input formats:

- `lines` (google-research/bert's format, the default): one sentence per line,
  a blank line between documents.
- `prose`: free text. Each non-blank line is a paragraph (of any length) that we
  split into sentences; a blank line ends a document.
- `wikixml`: a MediaWiki XML dump (`pages-articles.xml[.bz2]`). Every article
  (namespace 0, redirects skipped) is one document; the wiki markup is removed
  with gensim's `filter_wiki` and each paragraph is split into sentences.

Files may be plain, `.gz` or `.bz2`. Reading streams: only the current document
is held in memory, whatever the size of the corpus.

Decoding errors follow `errors`: `"strict"` (default) raises `UsageError`
naming the file and line; `"replace"` substitutes U+FFFD for undecodable bytes;
`"skip"` drops lines that do not decode.

Example:

>>> import tempfile, os
>>> folder = tempfile.mkdtemp()
>>> with open(os.path.join(folder, "a.txt"), "w") as f:
...     _ = f.write("The cat sat.\\nIt purred.\\n\\nA new document.\\n")
>>> list(read_documents(folder))
[['The cat sat.', 'It purred.'], ['A new document.']]
"""

import bz2
import glob
import gzip
import os
import re

from pretrain.errors import UsageError

CORPUS_FORMATS = ("lines", "prose", "wikixml")
ERROR_POLICIES = ("strict", "replace", "skip")

# A sentence ends at . ! ? (plus closing quotes/brackets) followed by space and
# an upper-case letter, digit or opening quote; or at CJK full stops.
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9\u00c0-\u024f\u3400-\u9fff])"
    r"|(?<=[\u3002\uff01\uff1f])"
)
# Bold and italic quotes that filter_wiki leaves in place.
_WIKI_EMPHASIS = re.compile(r"'{2,}")
# Words whose final period does not end a sentence.
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|vs|etc|e\.g|i\.e|No|Vol|Fig|Inc|Ltd|Co|Gen|Col|Lt|Gov|Sen|Rep)"
    r"|\b[A-Z])\.$"
)


def expand_paths(paths):
    """Sorted list of files named by `paths` (files, directories, globs)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths:
        raise UsageError("no corpus given: pass --corpus with a file, directory or glob")
    files = []
    for path in map(str, paths):
        if os.path.isdir(path):
            found = sorted(
                os.path.join(root, name)
                for root, _, names in os.walk(path)
                for name in names
                if not name.startswith(".")
            )
            if not found:
                raise UsageError(f"corpus directory {path} holds no files")
            files.extend(found)
        elif os.path.isfile(path):
            files.append(path)
        else:
            found = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
            if not found:
                raise UsageError(f"corpus path {path} matches no file; check the path or glob")
            files.extend(found)
    return files


def read_documents(paths, corpus_format="lines", errors="strict", shard_index=0, num_shards=1):
    """Yields documents (lists of sentences) from `paths`, streaming.

    Args:
        paths: str or list. Files, directories (read recursively) or glob
            patterns; plain, `.gz` or `.bz2`.
        corpus_format: str. One of `CORPUS_FORMATS`. Defaults to `"lines"`.
        errors: str. `"strict"`, `"replace"` or `"skip"` for undecodable bytes.
        shard_index: int. Which shard this reader yields, in `[0, num_shards)`.
        num_shards: int. With at least `num_shards` files, shard `i` reads
            files `i, i + num_shards, ...`; otherwise every shard reads all
            files and keeps documents `i, i + num_shards, ...`. The shards are
            disjoint and together cover the corpus.
    """
    if corpus_format not in CORPUS_FORMATS:
        raise UsageError(f"corpus format {corpus_format!r} is not one of {', '.join(CORPUS_FORMATS)}")
    if errors not in ERROR_POLICIES:
        raise UsageError(f"errors policy {errors!r} is not one of {', '.join(ERROR_POLICIES)}")
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise UsageError(f"shard index {shard_index} is not in [0, num_shards={num_shards})")
    files = expand_paths(paths)
    by_file = len(files) >= num_shards
    if by_file:
        files = files[shard_index::num_shards]
    reader = {"lines": _lines_documents, "prose": _prose_documents, "wikixml": _wiki_documents}[corpus_format]
    found = False
    for number, document in enumerate(d for path in files for d in reader(path, errors)):
        if by_file or number % num_shards == shard_index:
            found = True
            yield document
    if not found:
        shard = f" (shard {shard_index} of {num_shards})" if num_shards > 1 else ""
        raise UsageError(
            f"no text found in {', '.join(files) or paths}{shard}; "
            f"check that the files are not empty and that --corpus-format {corpus_format} fits them"
        )


def split_sentences(paragraph):
    """Splits a paragraph into sentences at . ! ? and CJK full stops."""
    sentences, current = [], ""
    for piece in _SENTENCE_END.split(paragraph.strip()):
        if not piece:
            continue
        current = f"{current} {piece}" if current else piece
        if not _ABBREVIATION.search(current):
            sentences.append(current.strip())
            current = ""
    if current.strip():
        sentences.append(current.strip())
    return [s for s in sentences if s]


def _open_binary(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".bz2"):
        return bz2.open(path, "rb")
    return open(path, "rb")


def _decoded_lines(path, errors):
    """Yields `(line_number, text)` with the line ending removed."""
    try:
        with _open_binary(path) as stream:
            for number, raw in enumerate(stream, start=1):
                try:
                    text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as error:
                    if errors == "skip":
                        continue
                    if errors == "strict":
                        raise UsageError(
                            f"{path}:{number}: byte {raw[error.start]:#04x} at column {error.start + 1} "
                            "is not UTF-8; convert the file to UTF-8 or pass --errors replace "
                            "(or skip)"
                        ) from None
                    text = raw.decode("utf-8", errors="replace")
                yield number, text.rstrip("\r\n")
    except (OSError, EOFError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None


def _lines_documents(path, errors):
    document = []
    for _, line in _decoded_lines(path, errors):
        line = line.strip()
        if line:
            document.append(line)
        elif document:
            yield document
            document = []
    if document:
        yield document


def _prose_documents(path, errors):
    document = []
    for _, line in _decoded_lines(path, errors):
        if line.strip():
            document.extend(split_sentences(line))
        elif document:
            yield document
            document = []
    if document:
        yield document


class _DecodedStream:
    """A binary file-like object over `_decoded_lines`, for the XML parser."""

    def __init__(self, path, errors):
        self._lines = _decoded_lines(path, errors)
        self._buffer = b""

    def read(self, size=-1):
        chunks, length = [self._buffer], len(self._buffer)
        while size < 0 or length < size:
            line = next(self._lines, None)
            if line is None:
                break
            chunks.append(line[1].encode("utf-8") + b"\n")
            length += len(chunks[-1])
        data = b"".join(chunks)
        size = len(data) if size < 0 else size
        self._buffer = data[size:]
        return data[:size]


def _wiki_documents(path, errors):
    from xml.etree.ElementTree import ParseError

    from gensim.corpora.wikicorpus import filter_wiki

    try:
        for markup in _article_markup(_DecodedStream(path, errors)):
            if markup.lstrip().lower().startswith("#redirect"):
                continue
            document = [
                sentence
                for paragraph in _WIKI_EMPHASIS.sub("", filter_wiki(markup)).split("\n")
                if _is_prose(paragraph)
                for sentence in split_sentences(paragraph)
            ]
            if document:
                yield document
    except (ParseError, StopIteration) as error:
        raise UsageError(
            f"{path} is not a MediaWiki XML dump ({error}); pick --corpus-format lines or prose"
        ) from None


def _article_markup(stream):
    """Yields the wikitext of every namespace-0 page, keeping memory flat.

    Like gensim's `extract_pages`, but clears the root after each page so the
    parsed tree does not grow with the dump.
    """
    from xml.etree.ElementTree import iterparse

    events = iterparse(stream, events=("start", "end"))
    _, root = next(events)
    namespace = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    for event, element in events:
        if event == "end" and element.tag == f"{namespace}page":
            if element.findtext(f"{namespace}ns") == "0":
                text = element.findtext(f"{namespace}revision/{namespace}text")
                if text:
                    yield text
            root.clear()


def _is_prose(paragraph):
    """Keeps paragraphs of running text; drops table rows, lists, image captions."""
    text = paragraph.strip()
    return len(text.split()) >= 4 and not text.startswith(
        ("|", "!", "{", "*", "#", ":", ";", "=", "File:", "Image:", "Category:")
    )
