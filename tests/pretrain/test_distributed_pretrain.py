"""MultiWorkerMirroredStrategy from TF_CONFIG: two workers on 127.0.0.1 train one model, end with equal weights,
and only the chief writes."""

import os
import re

import tensorflow as tf

from pretrain.objectives.pretrained import load_pretrained
from pretrain.training import loop
from tests.helpers.multiworker import run_workers
from tests.helpers.pretrain_runs import tiny_run_arguments, write_lines_corpus


def test_two_workers_train_together_end_with_equal_weights_and_only_the_chief_writes(tmp_path, lee_corpus_path):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path / "news.txt"))
    output = str(tmp_path / "run")
    arguments = ["bert", *tiny_run_arguments(corpus, output, steps=4), "--strategy", "multi-worker"]
    arguments[arguments.index("--checkpoint-every") + 1] = "4"  # one checkpoint, at the end
    logs = run_workers(arguments, count=2, timeout=300)
    for log in logs:
        assert "Finished at step 4:" in log
    # Each worker logs a digest of its weights after training: equal on both, and equal to the saved model's.
    digests = [re.findall(r"Weights after update 4: digest (\w+)", log) for log in logs]
    assert len(digests[0]) == 1 and digests[0] == digests[1], digests
    assert loop.weights_digest(load_pretrained(output).model) == digests[0][0]
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


def test_a_collective_that_lost_its_peer_becomes_one_line_naming_the_worker_and_the_checkpoint():
    # What the surviving worker's collective raised when worker 0 was killed (TensorFlow 2.21).
    error = tf.errors.UnavailableError(None, None, (
        "{{function_node __wrapped__CollectiveReduceV2_Nordering_token_1_device_/job:worker/replica:0/task:1/"
        "device:CPU:0}} Collective ops is aborted by: recvmsg:Connection reset by peer\n"
        "Additional GRPC error information from remote target /job:worker/replica:0/task:0 while calling "
        "/tensorflow.WorkerService/CompleteInstance:\n:UNKNOWN:Error received from peer\n"
        "The error could be from a previous operation. Restart your program to reset. [Op:CollectiveReduceV2]"
    ))
    assert loop.lost_worker_message(error, 4) == (
        "training stopped: worker 0 of the cluster is gone (UnavailableError: recvmsg:Connection reset by peer). "
        "Start every worker again with the same command; the run resumes from its last checkpoint (update 4)"
    )
    graph_error = tf.errors.CancelledError(None, None, "Graph execution error:\n\nDetected at node x\nCancelled")
    assert loop.lost_worker_message(graph_error, None) == (
        "training stopped: another worker of the cluster is gone (CancelledError: Graph execution error:). "
        "Start every worker again with the same command; the run resumes from its last checkpoint (the start)"
    )
