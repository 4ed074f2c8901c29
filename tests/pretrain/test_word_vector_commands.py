"""`pretrain word2vec|fasttext|glove` end to end on real text, and their one-line errors."""

import json
import os

import numpy as np
import pytest
from gensim.models import KeyedVectors

import cli


def read_metrics(output):
    with open(os.path.join(output, "metrics.json"), encoding="utf-8") as file:
        return json.load(file)


@pytest.mark.parametrize("command,options", [
    ("word2vec", ["--sg", "--epochs", "2"]),
    ("fasttext", ["--epochs", "1", "--buckets", "20000"]),
    ("glove", ["--epochs", "3", "--window", "5"]),
])
def test_command_trains_evaluates_and_exports(lee_corpus_path, tmp_path, capsys, command, options):
    output = str(tmp_path / command)
    assert cli.main([command, "--corpus", lee_corpus_path, "--output", output, "--dim", "24", *options]) == 0
    printed = capsys.readouterr().out
    assert "wordsim353 Spearman" in printed and "analogies" in printed
    metrics = read_metrics(output)
    assert set(metrics["seconds"]) == {"corpus", "training", "export", "evaluation"}
    assert metrics["vocabulary_size"] > 1000
    assert len(metrics["epochs"]) == int(options[options.index("--epochs") + 1])
    assert all(np.isfinite(record["loss"]) for record in metrics["epochs"])
    vectors = KeyedVectors.load_word2vec_format(os.path.join(output, "vectors.bin"), binary=True)
    assert vectors.vector_size == 24 and len(vectors) == metrics["vocabulary_size"]
    assert {"vectors.txt", "saved_model", "logs", "config.json"} <= set(os.listdir(output))
    assert not [name for name in os.listdir(output) if name.startswith(".work")]  # encoded corpus removed


def test_no_eval_skips_the_evaluation_and_every_phase_is_timed(lee_corpus_path, tmp_path, capsys):
    output = str(tmp_path / "w2v")
    command = ["word2vec", "--corpus", lee_corpus_path, "--output", output, "--dim", "16", "--epochs", "1", "--no-eval"]
    assert cli.main(command) == 0
    printed = capsys.readouterr().out
    assert "wordsim353 Spearman" not in printed and "seconds: corpus" in printed
    metrics = read_metrics(output)
    assert "evaluation" not in metrics and "neighbours" not in metrics
    assert set(metrics["seconds"]) == {"corpus", "training", "export"}
    assert all(value >= 0 for value in metrics["seconds"].values())
    assert os.path.exists(os.path.join(output, "vectors.bin"))


@pytest.mark.parametrize("arguments,message", [
    (["word2vec", "--min-count", "100000"], "--min-count=100000"),
    (["word2vec", "--negative", "0"], "--negative 0 needs --hs"),
    (["glove", "--x-max", "0"], "--x-max"),
    (["fasttext", "--corpus-format", "lines", "--min-n", "7"], "min_n"),
])
def test_bad_input_is_one_line_error(lee_corpus_path, tmp_path, capsys, arguments, message):
    command = [arguments[0], "--corpus", lee_corpus_path, "--output", str(tmp_path / "o"), *arguments[1:]]
    assert cli.main(command) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_missing_corpus_and_conflicting_flags(tmp_path, capsys):
    assert cli.main(["word2vec", "--corpus", str(tmp_path / "none.txt"), "--output", str(tmp_path / "o")]) == 2
    assert "none.txt" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["word2vec", "--corpus", "x", "--output", "o", "--sg", "--cbow"])
