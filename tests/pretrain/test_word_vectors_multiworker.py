"""Word vectors under MultiWorkerMirroredStrategy: two workers on 127.0.0.1 from TF_CONFIG."""

import json
import os
import socket
import subprocess
import sys

import pytest
from repo_root import REPO_ROOT


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.parametrize("trainer", ["word2vec", "glove"])
def test_two_workers_train_and_the_chief_exports(tmp_path, lee_corpus_path, trainer):
    # The workers' shares of batches differ in length; collectives need them to stay in step.
    output = str(tmp_path / trainer)
    options = ["--batch-size", "4096"] if trainer == "glove" else []
    command = [sys.executable, "-m", "cli", trainer, "--corpus", lee_corpus_path, "--output", output,
               "--dim", "16", "--epochs", "2", "--min-count", "3", "--strategy", "multi-worker", *options]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = [
        subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                     TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})),
        )
        for i in range(2)
    ]
    logs = [worker.communicate(timeout=600)[0] for worker in workers]
    for worker, log in zip(workers, logs):
        assert worker.returncode == 0, log[-3000:]
        assert "epoch 2/2  loss" in log
    assert "wordsim353 Spearman" in logs[0] and "wordsim353 Spearman" not in logs[1]
    with open(os.path.join(output, "metrics.json"), encoding="utf-8") as file:
        epochs = json.load(file)["epochs"]
    assert epochs[1]["loss"] < epochs[0]["loss"]
    assert sorted(os.listdir(output)) == [
        "config.json", "logs", "metrics.json", "saved_model", "vectors.bin", "vectors.txt"
    ]
