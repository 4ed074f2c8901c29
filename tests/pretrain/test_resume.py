"""Exact resume: SIGKILL `pretrain bert` after a checkpoint, run the same command, it finishes; a run resumed
from a checkpoint continues the learning-rate schedule, the optimizer state and the dropout masks exactly (same
batches, same weights and Adam moments as a run never interrupted); a checkpoint of an older version, without
the dropout random state, still restores."""

import logging

import os
import re
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from layers import BACKBONE_SIZES, GptDecoder
from pretrain.objectives import gpt_pretrainer
from pretrain.objectives.gpt_pretrainer import GptPretrainer
from pretrain.training import loop
from pretrain.training.optimizer import create_optimizer, warmup_linear_decay
from pretrain.training.pretrain_config import TrainingConfig

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


def _gpt_run(seed, checkpoint_dir):
    """A tiny compiled GPT pretrainer with dropout and its Checkpointer; `seed` sets the initial weights and the
    dropout seeds."""
    keras.utils.set_random_seed(seed)
    backbone = GptDecoder(vocabulary_size=40, name="backbone", dropout=0.2, **BACKBONE_SIZES["tiny"])
    model = GptPretrainer(backbone)
    model.compile(optimizer=create_optimizer(EXACT_TRAINING, model))
    return model, loop.Checkpointer(model, checkpoint_dir)


def _batches():
    """Four fixed batches, repeated: a resumed run sees exactly the batches an uninterrupted one does."""
    tokens = np.random.default_rng(7).integers(5, 40, (4, 8, 17)).astype("int32")
    features = {"input_ids": tokens[:, :, :-1], "labels": tokens[:, :, 1:]}
    return tf.data.Dataset.from_tensor_slices(features).map(gpt_pretrainer.features_to_inputs).repeat()


EXACT_TRAINING = TrainingConfig(steps=8, checkpoint_every=4, learning_rate=1e-3, warmup_fraction=0.25)


def test_a_resumed_run_continues_the_schedule_and_optimizer_state_exactly(tmp_path):
    uninterrupted, checkpointer = _gpt_run(0, str(tmp_path / "a"))
    loop.fit(uninterrupted, _batches(), None, EXACT_TRAINING, checkpointer, str(tmp_path / "logs_a"), 0)
    assert loop.updates_done(uninterrupted) == 8
    # A run killed after update 4 resumes from the checkpoint written then (kept beside ckpt-8 in a/).
    resumed, checkpointer = _gpt_run(1, str(tmp_path / "b"))  # other initial weights: the restore must set them
    checkpointer.checkpoint.restore(str(tmp_path / "a" / "ckpt-4")).assert_existing_objects_matched()
    assert loop.updates_done(resumed) == 4
    # The schedule continues from update 4 (warmup of 2 updates, decay to 0 at 8), not from 0.
    assert float(resumed.optimizer.learning_rate) == pytest.approx(float(warmup_linear_decay(4, 1e-3, 2, 8)))
    loop.fit(resumed, _batches().skip(4), None, EXACT_TRAINING, checkpointer, str(tmp_path / "logs_b"), 4)
    assert loop.updates_done(resumed) == 8
    # The dropout seeds are restored too (`random_state`): the resumed updates draw the uninterrupted run's masks.
    assert checkpointer.random_state and len(checkpointer.random_state) == len(loop.random_state(uninterrupted))
    for ours, theirs in zip(resumed.variables + resumed.optimizer.variables,
                            uninterrupted.variables + uninterrupted.optimizer.variables):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6, err_msg=ours.path)


def test_a_checkpoint_without_the_dropout_random_state_restores_with_a_warning(tmp_path, caplog):
    model, _ = _gpt_run(0, str(tmp_path / "unused"))
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(6)
    manager = tf.train.CheckpointManager(  # what checkpoints held before `random_state`
        tf.train.Checkpoint(model=model, optimizer=model.optimizer), str(tmp_path / "old"), max_to_keep=1
    )
    manager.save(checkpoint_number=6)
    resumed, checkpointer = _gpt_run(1, str(tmp_path / "old"))
    with caplog.at_level(logging.WARNING, logger="pretrain.training.loop"):
        assert checkpointer.restore() == 6
    assert "holds no dropout random state" in caplog.text
    for ours, theirs in zip(resumed.weights, model.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=ours.path)
