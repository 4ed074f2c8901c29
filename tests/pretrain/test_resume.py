"""Exact resume: SIGKILL `pretrain bert` after a checkpoint, run the same command, it finishes."""

import os
import re
import signal
import subprocess
import sys
import time

import tensorflow as tf

from tests.helpers.pretrain_runs import tiny_run_arguments, write_lines_corpus
from tests.helpers.repo_root import REPO_ROOT

STEPS = 24


def test_killed_run_resumes_from_its_last_checkpoint_and_finishes(tmp_path, lee_corpus_path):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path / "news.txt"))
    output = str(tmp_path / "run")
    command = [sys.executable, "-m", "cli", "bert", *tiny_run_arguments(corpus, output, steps=STEPS)]
    command[command.index("--checkpoint-every") + 1] = "3"
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")

    first = subprocess.Popen(command, cwd=REPO_ROOT, env=environment,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint_dir = os.path.join(output, "checkpoints")
    deadline = time.time() + 180
    while tf.train.latest_checkpoint(checkpoint_dir) is None and first.poll() is None:
        assert time.time() < deadline, "no checkpoint written within 180 s"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = int(tf.train.latest_checkpoint(checkpoint_dir).rsplit("-", 1)[1])
    assert 0 < killed_at < STEPS

    second = subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True,
                            timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    resumed_at = int(re.search(r"Resuming from step (\d+)", second.stderr).group(1))  # logged
    assert killed_at <= resumed_at < STEPS  # a later checkpoint may land between our look and the kill
    assert f"Finished at step {STEPS}:" in second.stdout
    assert tf.train.latest_checkpoint(checkpoint_dir).endswith(f"ckpt-{STEPS}")
    assert os.path.isfile(os.path.join(output, "model.keras"))
