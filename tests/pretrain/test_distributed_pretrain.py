"""MultiWorkerMirroredStrategy from TF_CONFIG: two workers on 127.0.0.1 train one model."""

import json
import os
import socket
import subprocess
import sys

import tensorflow as tf
from pretrain_run_fixtures import tiny_run_arguments, write_lines_corpus

from repo_root import REPO_ROOT


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_together_and_only_the_chief_writes(tmp_path, lee_corpus_path):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path / "news.txt"))
    output = str(tmp_path / "run")
    command = [sys.executable, "-m", "cli", "bert", *tiny_run_arguments(corpus, output, steps=4),
               "--strategy", "multi-worker"]
    command[command.index("--checkpoint-every") + 1] = "4"  # one checkpoint, at the end
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    workers = [
        subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                     TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})),
        )
        for i in range(2)
    ]
    logs = [worker.communicate(timeout=300)[0] for worker in workers]
    for worker, log in zip(workers, logs):
        assert worker.returncode == 0, log[-3000:]
        assert "Finished at step 4:" in log
    checkpoint_dir = os.path.join(output, "checkpoints")
    assert tf.train.latest_checkpoint(checkpoint_dir).endswith("ckpt-4")
    assert sorted(os.listdir(checkpoint_dir)) == [
        "checkpoint", "ckpt-4.data-00000-of-00001", "ckpt-4.index"
    ]
    reader = tf.train.load_checkpoint(checkpoint_dir)
    assert reader.get_tensor("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == 4
    # The non-chief worker wrote nothing into the output directory.
    assert sorted(os.listdir(output)) == [
        "backbone", "checkpoints", "config.json", "data", "logs", "metrics.json", "model.keras", "vocab.txt"
    ]
