"""split_corpus: held-out documents by position, both files shuffled over the whole corpus, reproducible."""

import json
import os
import types

from pretrain.text import corpus_split
from pretrain.text.corpus_split import split_corpus


def write_source(path, name, documents):
    with open(path, "w", encoding="utf-8") as file:
        for i in range(documents):
            file.write(f"{name} document {i} opens here.\nIt ends {name} {i}.\n\n")
    return str(path)


def read_split(path):
    with open(path, encoding="utf-8") as file:
        return [document for document in file.read().split("\n\n") if document]


def corpus_data(tmp_path, heldout_every=10):
    books = write_source(tmp_path / "books.txt", "book", 300)
    reviews = write_source(tmp_path / "reviews.txt", "review", 300)
    return types.SimpleNamespace(
        corpus=(books, reviews), corpus_format="lines", errors="strict", heldout_every=heldout_every
    )


def test_held_out_documents_are_every_nth_and_nothing_is_lost(tmp_path):
    data = corpus_data(tmp_path)
    counts = split_corpus(data, str(tmp_path / "data"))
    assert counts == {"train_documents": 540, "heldout_documents": 60}
    in_order = [f"{name} document {i} opens here.\nIt ends {name} {i}." for name in ("book", "review") for i in range(300)]
    train, heldout = read_split(tmp_path / "data" / "train.txt"), read_split(tmp_path / "data" / "heldout.txt")
    assert sorted(heldout) == sorted(in_order[9::10])
    assert sorted(train + heldout) == sorted(in_order)
    assert not [name for name in os.listdir(tmp_path / "data") if name.endswith(".tmp")]


def test_sources_are_mixed_from_the_first_documents_on(tmp_path):
    data = corpus_data(tmp_path)
    split_corpus(data, str(tmp_path / "data"))
    train, heldout = read_split(tmp_path / "data" / "train.txt"), read_split(tmp_path / "data" / "heldout.txt")
    for documents in (train[:60], heldout[:20]):  # what a shuffle buffer or a held-out sample would see first
        books = sum(document.startswith("book") for document in documents)
        assert 0.25 < books / len(documents) < 0.75, books
    assert train[:10] != sorted(train[:10])


def test_the_split_is_reproducible_and_written_once(tmp_path):
    data = corpus_data(tmp_path)
    split_corpus(data, str(tmp_path / "first"))
    split_corpus(data, str(tmp_path / "second"))
    for name in ("train.txt", "heldout.txt"):
        with open(tmp_path / "first" / name, "rb") as a, open(tmp_path / "second" / name, "rb") as b:
            assert a.read() == b.read()
    stamp = os.stat(tmp_path / "first" / "train.txt").st_mtime_ns
    split_corpus(data, str(tmp_path / "first"))
    assert os.stat(tmp_path / "first" / "train.txt").st_mtime_ns == stamp


def test_a_split_in_reading_order_from_an_older_version_is_made_again(tmp_path):
    data = corpus_data(tmp_path)
    data_dir = tmp_path / "data"
    split_corpus(data, str(data_dir))
    summary = json.loads((data_dir / "split.json").read_text())
    del summary["source"]["order"]
    (data_dir / "split.json").write_text(json.dumps(summary))
    (data_dir / "train.txt").write_text("stale\n\n")
    split_corpus(data, str(data_dir))
    assert len(read_split(data_dir / "train.txt")) == 540
    assert json.loads((data_dir / "split.json").read_text())["source"]["order"] == corpus_split.ORDER
