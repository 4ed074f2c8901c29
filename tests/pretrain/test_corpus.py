"""Corpus reading: formats, compression, paths, decoding errors, sharding, bounded memory."""

import bz2
import gzip
import subprocess
import sys

import pytest

from pretrain.errors import UsageError
from pretrain.text.corpus import read_documents, split_sentences
from tests.helpers.repo_root import REPO_ROOT

TEXT = "The cat sat.\nIt purred.\n\nA new document.\nWith two lines.\n\n\nThird one.\n"
DOCUMENTS = [["The cat sat.", "It purred."], ["A new document.", "With two lines."], ["Third one."]]


def write(path, text, opener=open):
    with opener(path, "wb") as file:
        file.write(text.encode("utf-8") if isinstance(text, str) else text)
    return str(path)


def test_lines_format_plain_gzip_bz2_read_the_same(tmp_path):
    for name, opener in [("a.txt", open), ("b.txt.gz", gzip.open), ("c.txt.bz2", bz2.open)]:
        assert list(read_documents(write(tmp_path / name, TEXT, opener))) == DOCUMENTS


def test_directories_and_globs_expand_to_sorted_files(tmp_path):
    write(tmp_path / "b.txt", "Second file.\n")
    write(tmp_path / "a.txt", "First file.\n")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "c.txt", "Nested file.\n")
    assert list(read_documents(str(tmp_path))) == [["First file."], ["Second file."], ["Nested file."]]
    assert list(read_documents(str(tmp_path / "*.txt"))) == [["First file."], ["Second file."]]


def test_prose_splits_paragraphs_into_sentences(tmp_path):
    path = write(tmp_path / "p.txt", "Dr. Who came. He left! Did he?\nNew paragraph here.\n\nNext document.\n")
    assert list(read_documents(path, "prose")) == [
        ["Dr. Who came.", "He left!", "Did he?", "New paragraph here."],
        ["Next document."],
    ]


def test_sentence_splitter_handles_cjk_and_initials():
    assert split_sentences("J. R. R. Tolkien wrote it. 今天很好。我们走吧！") == [
        "J. R. R. Tolkien wrote it.", "今天很好。", "我们走吧！"
    ]


def test_prose_on_lee_corpus_gives_sentences(lee_corpus_path):
    (document,) = read_documents(lee_corpus_path, "prose")
    assert 2500 < len(document) < 3500
    lengths = sorted(len(s.split()) for s in document)
    assert 15 <= lengths[len(lengths) // 2] <= 35  # median sentence length in words
    assert sum(s.endswith((".", "?", "!", '"')) for s in document) > 0.95 * len(document)


def test_wikixml_removes_markup_on_wikipedia_sample(wiki_sample_path):
    documents = list(read_documents(wiki_sample_path, "wikixml"))
    assert 90 < len(documents) <= 206
    sentences = [s for d in documents for s in d]
    assert sum(len(s.split()) for s in sentences) > 300_000
    assert documents[0][0].startswith("Anarchism is a political philosophy")
    for marker in ("[[", "]]", "{{", "}}", "'''", "<ref", "&lt;"):
        assert not any(marker in s for s in sentences), marker


def test_undecodable_bytes_strict_names_file_and_line(tmp_path):
    path = write(tmp_path / "bad.txt", b"fine line\nbad \xff byte\n")
    with pytest.raises(UsageError, match=r"bad\.txt:2: byte 0xff at column 5.*--errors"):
        list(read_documents(path))


def test_undecodable_bytes_replace_and_skip_policies(tmp_path):
    path = write(tmp_path / "bad.txt", b"fine line\nbad \xff byte\n")
    assert list(read_documents(path, errors="replace")) == [["fine line", "bad \ufffd byte"]]
    assert list(read_documents(path, errors="skip")) == [["fine line"]]


def test_empty_and_missing_inputs_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no text found in .*empty.txt"):
        list(read_documents(write(tmp_path / "empty.txt", "\n\n")))
    with pytest.raises(UsageError, match="matches no file"):
        list(read_documents(str(tmp_path / "missing*.txt")))
    (tmp_path / "void").mkdir()
    with pytest.raises(UsageError, match="holds no files"):
        list(read_documents(str(tmp_path / "void")))
    with pytest.raises(UsageError, match="not a MediaWiki XML dump"):
        list(read_documents(write(tmp_path / "plain.txt", "not xml\n"), "wikixml"))
    with pytest.raises(UsageError, match="corrupt.gz"):
        list(read_documents(write(tmp_path / "corrupt.gz", b"not gzip at all")))


def test_bad_arguments_are_usage_errors(tmp_path):
    path = write(tmp_path / "a.txt", TEXT)
    for kwargs in [{"corpus_format": "csv"}, {"errors": "ignore"}, {"shard_index": 2, "num_shards": 2}]:
        with pytest.raises(UsageError):
            list(read_documents(path, **kwargs))


@pytest.mark.parametrize("num_files", [1, 2, 6])
def test_shards_are_disjoint_and_cover_the_corpus(tmp_path, num_files):
    for f in range(num_files):
        text = "\n\n".join(f"File {f} document {d}." for d in range(10))
        write(tmp_path / f"part{f}.txt", text)
    everything = list(read_documents(str(tmp_path)))
    shards = [list(read_documents(str(tmp_path), shard_index=i, num_shards=3)) for i in range(3)]
    seen = [d[0] for shard in shards for d in shard]
    assert len(seen) == len(set(seen)) == len(everything) == 10 * num_files
    assert all(len(shard) >= 3 for shard in shards)


PEAK_RSS_SCRIPT = """
import resource
from pretrain.text.corpus import read_documents
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
count = sum(len(d) for d in read_documents({path!r}, {corpus_format!r}))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(count, (after - before) // 1024)
"""


def make_corpus(path, megabytes, corpus_format):
    """A generated gzip corpus of about `megabytes` of text in `corpus_format`."""
    sentence = "The quick brown fox jumps over the lazy dog near river bank number {}."
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as file:
        if corpus_format == "wikixml":
            file.write('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/">\n')
        written, n = 0, 0
        while written < megabytes * 2**20:
            sentences = [sentence.format(n + i) for i in range(20)]
            if corpus_format == "lines":
                block = "\n".join(sentences) + "\n\n"
            elif corpus_format == "prose":
                block = " ".join(sentences) + "\n\n"
            else:
                block = (f"<page><title>Page {n}</title><ns>0</ns><id>{n}</id><revision><text>"
                         f"{' '.join(sentences)}</text></revision></page>\n")
            file.write(block)
            written += len(block)
            n += 20
        if corpus_format == "wikixml":
            file.write("</mediawiki>\n")
    return str(path)


def rss_growth_mb(path, corpus_format):
    script = PEAK_RSS_SCRIPT.format(path=path, corpus_format=corpus_format)
    # `python -c` imports from its working directory first: the checkout's `pretrain`.
    output = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, check=True, capture_output=True, text=True)
    count, growth = map(int, output.stdout.split())
    return count, growth


@pytest.mark.parametrize("corpus_format", ["lines", "prose", "wikixml"])
def test_memory_does_not_grow_with_corpus_size(tmp_path, corpus_format):
    megabytes = 2 if corpus_format == "wikixml" else 4  # markup removal is slow
    small_count, small = rss_growth_mb(make_corpus(tmp_path / "s.gz", megabytes, corpus_format), corpus_format)
    large_count, large = rss_growth_mb(
        make_corpus(tmp_path / "l.gz", 4 * megabytes, corpus_format), corpus_format
    )
    assert large_count > 3.5 * small_count
    assert large - small < 8, (small, large)


@pytest.mark.slow
def test_200_megabyte_corpus_streams_in_bounded_memory(tmp_path):
    count, growth = rss_growth_mb(make_corpus(tmp_path / "big.gz", 200, "lines"), "lines")
    assert count > 2_500_000
    assert growth < 30, growth

