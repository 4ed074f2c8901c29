"""Word vectors under MultiWorkerMirroredStrategy: two workers on 127.0.0.1 from TF_CONFIG."""

import json
import os

import pytest

from tests.helpers.multiworker import run_workers


@pytest.mark.parametrize("trainer", ["word2vec", "glove"])
def test_two_workers_train_and_the_chief_exports(tmp_path, lee_corpus_path, trainer):
    # The workers' shares of batches differ in length; collectives need them to stay in step.
    output = str(tmp_path / trainer)
    options = ["--batch-size", "4096"] if trainer == "glove" else []
    arguments = [trainer, "--corpus", lee_corpus_path, "--output", output,
                 "--dim", "16", "--epochs", "2", "--min-count", "3", "--strategy", "multi-worker", *options]
    logs = run_workers(arguments, count=2, timeout=600)
    for log in logs:
        assert "epoch 2/2  loss" in log
    assert "wordsim353 Spearman" in logs[0] and "wordsim353 Spearman" not in logs[1]
    with open(os.path.join(output, "metrics.json"), encoding="utf-8") as file:
        epochs = json.load(file)["epochs"]
    assert epochs[1]["loss"] < epochs[0]["loss"]
    assert sorted(os.listdir(output)) == [
        "config.json", "logs", "metrics.json", "saved_model", "vectors.bin", "vectors.txt"
    ]
