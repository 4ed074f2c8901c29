"""MultiWorkerMirroredStrategy from TF_CONFIG: two workers on 127.0.0.1 train one model."""

import os

import tensorflow as tf

from tests.helpers.multiworker import run_workers
from tests.helpers.pretrain_runs import tiny_run_arguments, write_lines_corpus


def test_two_workers_train_together_and_only_the_chief_writes(tmp_path, lee_corpus_path):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path / "news.txt"))
    output = str(tmp_path / "run")
    arguments = ["bert", *tiny_run_arguments(corpus, output, steps=4), "--strategy", "multi-worker"]
    arguments[arguments.index("--checkpoint-every") + 1] = "4"  # one checkpoint, at the end
    for log in run_workers(arguments, count=2, timeout=300):
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
