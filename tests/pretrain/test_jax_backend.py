"""`pretrain` on the Keras JAX backend trains, checkpoints, resumes and exports as on TensorFlow.

Each backend runs in its own process (Keras picks it at import; this test process is TensorFlow's).
The cross-backend check starts both from the same initial weights (Keras's initialisers draw other
numbers on each backend), with dropout off, on the same batches of the toolkit's tf.data pipeline,
and trains through `compile_pretrainer`, `create_checkpointer` and `loop.fit` in rounds of one update, so
TensorBoard's `epoch_loss` is each update's loss.
"""

import json
import logging
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from layers import GptDecoder
from pretrain.errors import UsageError
from pretrain.objectives.gpt_pretrainer import GptPretrainer
from pretrain.objectives.pretrained import load_pretrained
from pretrain.text.corpus import read_documents
from pretrain.text.tokenizer import load_vocabulary, save_vocabulary, train_vocabulary
from pretrain.training import loop
from pretrain.training.pretrain_config import GptPretrainConfig
from saved_models.tensorflow_process import export_run_model
from tests.helpers.pretrain_runs import tiny_run_arguments, write_lines_corpus
from tests.helpers.repo_root import REPO_ROOT
from tests.pretrain.test_seq2seq_pretrain_cli import check_output_directory, check_serving_model, seq2seq_arguments

logger = logging.getLogger(__name__)  # the measurement: pytest --log-cli-level=INFO shows it
UPDATES = 50
# A GPT small enough that 50 updates take seconds; no dropout, so both backends compute the same function.
GPT_SIZE = {"num_layers": 2, "num_heads": 2, "hidden_dim": 32, "intermediate_dim": 64, "max_sequence_length": 32}
SEQ_LENGTH, BATCH_SIZE = 32, 4
RUN_STEPS = 6  # of the `pretrain gpt` runs, checkpointed every 2

TRAIN_SCRIPT = r"""
import json, sys
import keras
from layers import GptDecoder
from pretrain.examples.gpt_examples import gpt_dataset
from pretrain.objectives import gpt_pretrainer
from pretrain.text.tokenizer import WordPieceTokenizer, load_vocabulary
from pretrain.training import loop
from pretrain.training.checkpoints import create_checkpointer
from pretrain.training.optimizer import compile_pretrainer
from pretrain.training.pretrain_config import TrainingConfig

corpus, vocabulary, initial_weights, output, size, seq_length, batch_size, steps = sys.argv[1:]
seq_length, batch_size, steps = int(seq_length), int(batch_size), int(steps)
tokens = load_vocabulary(vocabulary)
training = TrainingConfig(steps=steps, batch_size=batch_size, learning_rate=1e-3, checkpoint_every=1,
                          keep_checkpoints=1)
backbone = GptDecoder(vocabulary_size=len(tokens), dropout=0.0, name="backbone", **json.loads(size))
model = gpt_pretrainer.GptPretrainer(backbone, name="gpt_pretrainer")
model.load_weights(initial_weights)
compile_pretrainer(model, training)
checkpointer = create_checkpointer(model, output + "/checkpoints", max_to_keep=1)
batches = gpt_dataset(corpus, WordPieceTokenizer(tokens), seq_length=seq_length, seed=1, shuffle_buffer=100)
batches = batches.repeat().batch(batch_size, drop_remainder=True).map(gpt_pretrainer.features_to_inputs)
loop.fit(model, batches, None, training, checkpointer, output + "/logs", 0)
print(keras.backend.backend(), loop.updates_done(model))
"""


@pytest.fixture(scope="module")
def corpus_and_vocabulary(lee_corpus_path, tmp_path_factory):
    directory = tmp_path_factory.mktemp("jax_data")
    corpus = write_lines_corpus(lee_corpus_path, str(directory / "news.txt"), documents=30)
    vocabulary = str(directory / "vocab.txt")
    save_vocabulary(train_vocabulary(read_documents(corpus), 300), vocabulary)
    return corpus, vocabulary


def start_on_backend(backend, script, *arguments):
    """Starts the Python source `script` with `arguments` under KERAS_BACKEND=`backend`."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, arguments)], cwd=REPO_ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3"),
    )


def finished(process, timeout=600):
    """The stdout of a process of `start_on_backend`, which must succeed."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        process.kill()
    assert process.returncode == 0, stderr[-3000:]
    return stdout


def epoch_losses(log_dir):
    """The per-round training losses that the TensorBoard callback logged, in order."""
    events = EventAccumulator(os.path.join(log_dir, "train"), size_guidance={"tensors": 0})
    events.Reload()
    return [float(tf.make_ndarray(event.tensor_proto)) for event in events.Tensors("epoch_loss")]


def test_tensorflow_and_jax_train_the_same_loss_curve(corpus_and_vocabulary, tmp_path):
    corpus, vocabulary = corpus_and_vocabulary
    keras.utils.set_random_seed(3)
    backbone = GptDecoder(vocabulary_size=len(load_vocabulary(vocabulary)), dropout=0.0, name="backbone", **GPT_SIZE)
    model = GptPretrainer(backbone)
    initial_weights = str(tmp_path / "initial.weights.h5")
    model.save_weights(initial_weights)
    processes = {  # side by side: each spends most of its time starting up on one core
        backend: start_on_backend(backend, TRAIN_SCRIPT, corpus, vocabulary, initial_weights, tmp_path / backend,
                                  json.dumps(GPT_SIZE), SEQ_LENGTH, BATCH_SIZE, UPDATES)
        for backend in ("tensorflow", "jax")
    }
    losses = {}
    for backend, process in processes.items():
        assert finished(process).split()[-2:] == [backend, str(UPDATES)]
        losses[backend] = np.array(epoch_losses(str(tmp_path / backend / "logs")))
    assert losses["tensorflow"].shape == losses["jax"].shape == (UPDATES,)
    assert losses["jax"][-1] < losses["jax"][0] - 0.2  # it learns
    relative = np.abs(losses["jax"] - losses["tensorflow"]) / np.abs(losses["tensorflow"])
    logger.info(f"largest relative loss difference over {UPDATES} updates: {relative.max():.2e}")
    assert relative.max() <= 1e-3, relative


def gpt_run_arguments(corpus, vocabulary, output):
    """A tiny `pretrain gpt` run: a one-block GPT with dropout (`--config`; JAX compiles it in seconds) and a
    fixed vocabulary, so that two runs train on the same token ids."""
    config = os.path.join(os.path.dirname(vocabulary), "gpt_config.json")
    backbone = GptDecoder(vocabulary_size=2, dropout=0.1, **dict(GPT_SIZE, num_layers=1))
    GptPretrainConfig(backbone=backbone.get_config()).save(config)
    return [
        "gpt", "--config", config, "--corpus", corpus, "--output", str(output), "--steps", str(RUN_STEPS),
        "--batch-size", "4", "--seq-length", "32", "--vocab", vocabulary, "--token-vectors", "none",
        "--checkpoint-every", "2", "--eval-batches", "0",  # evaluation on JAX: the slow tests below
    ]


def start_pretrain_on_jax(arguments, log_path):
    """Starts `pretrain ARGUMENTS` under KERAS_BACKEND=jax, its stdout and stderr into `log_path`."""
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", *arguments], cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
            env=dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3"),
        )


def kill_each_when(watched, timeout=600):
    """SIGKILLs each `(process, happened)` as soon as `happened()`; fails if one ends or times out first."""
    deadline, waiting = time.time() + timeout, list(watched)
    while waiting:
        for process, happened in list(waiting):
            assert process.poll() is None, "the run ended before its kill"
            if happened():
                process.kill()
                process.wait()
                waiting.remove((process, happened))
        assert time.time() < deadline, "no checkpoint to kill the runs at"
        time.sleep(0.01)


def test_a_gpt_run_on_jax_killed_after_a_checkpoint_ends_as_if_never_killed_and_exports(
    corpus_and_vocabulary, tmp_path
):
    corpus, vocabulary = corpus_and_vocabulary
    reference, output = tmp_path / "uninterrupted", tmp_path / "killed"
    uninterrupted = start_pretrain_on_jax(gpt_run_arguments(corpus, vocabulary, reference), tmp_path / "a.log")
    killed = start_pretrain_on_jax(gpt_run_arguments(corpus, vocabulary, output), tmp_path / "b.log")
    kill_each_when([  # the uninterrupted run is stopped at its last checkpoint: its export is not needed
        (uninterrupted, lambda: (reference / "checkpoints" / f"ckpt-{RUN_STEPS}.npz").exists()),
        (killed, lambda: (output / "checkpoints" / "ckpt-2.npz").exists()),
    ])
    rerun = start_pretrain_on_jax(gpt_run_arguments(corpus, vocabulary, output), tmp_path / "rerun.log")
    rerun.wait(timeout=600)
    log = (tmp_path / "rerun.log").read_text()
    assert rerun.returncode == 0, log[-3000:]
    assert "Resuming from step 2 " in log and f"Finished at step {RUN_STEPS}:" in log, log[-3000:]

    # The same weights, Adam moments, update counter and dropout seeds as the run never killed.
    final = f"checkpoints/ckpt-{RUN_STEPS}.npz"
    with np.load(output / final) as ours, np.load(reference / final) as theirs:
        assert sorted(ours.files) == sorted(theirs.files) and any(n.startswith("random_state.") for n in ours.files)
        values = {name: ours[name] for name in ours.files if not name.endswith(".paths")}
        for name, value in values.items():
            np.testing.assert_allclose(value, theirs[name], atol=1e-5, err_msg=name)

    # TensorFlow loads what JAX trained: model.keras, and the backbone SavedModel its TensorFlow process wrote.
    pretrained = load_pretrained(str(output))
    for index, weight in enumerate(pretrained.model.weights):
        np.testing.assert_array_equal(weight.numpy(), values[f"model.{index}"], err_msg=weight.path)
    backbone = tf.saved_model.load(str(output / "backbone"))
    inputs = backbone.preprocess(tf.constant(["The fire spread quickly."]))
    np.testing.assert_allclose(
        backbone.encode(inputs)["sequence_output"].numpy(),
        pretrained.backbone(dict(inputs)).numpy(),  # a GptDecoder returns its sequence output
        atol=1e-4,
    )


def test_distribution_strategies_are_refused_on_jax_with_one_line_naming_the_flag(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")  # what loop reads: the process's backend
    for name in ("mirrored", "multi-worker"):
        with pytest.raises(UsageError, match=rf"^--strategy {name} needs the TensorFlow backend: "
                                             r"run with KERAS_BACKEND=tensorflow, or drop --strategy on jax$"):
            loop.create_strategy(name)


def run_pretrain_on_jax(arguments, log_path):
    """Runs `pretrain ARGUMENTS` under KERAS_BACKEND=jax to the end; returns its output."""
    process = start_pretrain_on_jax(arguments, log_path)
    process.wait(timeout=600)
    log = log_path.read_text()
    assert process.returncode == 0, log[-3000:]
    return log


@pytest.mark.slow
def test_bert_on_jax_trains_and_exports_a_backbone_tensorflow_serves_and_pretrain_export_reads_it(
    corpus_and_vocabulary, tmp_path
):
    corpus, _ = corpus_and_vocabulary
    output = tmp_path / "bert"
    log = run_pretrain_on_jax(["bert", *tiny_run_arguments(corpus, str(output), steps=4)], tmp_path / "bert.log")
    assert "Finished at step 4:" in log and sorted(os.listdir(output / "checkpoints")) == ["ckpt-2.npz", "ckpt-4.npz"]
    pretrained = load_pretrained(str(output))
    backbone = tf.saved_model.load(str(output / "backbone"))
    inputs = backbone.preprocess(tf.constant(["The fire spread quickly.", "Police said"]))
    exported, ours = backbone.encode(inputs), pretrained.backbone(dict(inputs))
    for name in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(exported[name].numpy(), ours[name].numpy(), atol=1e-4, err_msg=name)
    # `pretrain export` under KERAS_BACKEND=jax makes its SavedModel on TensorFlow.
    log = run_pretrain_on_jax(["export", "--model", str(output), "--output", str(tmp_path / "again")],
                              tmp_path / "export.log")
    assert f"wrote backbone SavedModel {tmp_path / 'again'}" in log
    again = tf.saved_model.load(str(tmp_path / "again"))  # kept: its functions use its variables
    np.testing.assert_allclose(again.encode(inputs)["sequence_output"].numpy(),
                               exported["sequence_output"].numpy(), atol=1e-6)


@pytest.mark.slow
def test_seq2seq_on_jax_trains_resumes_and_exports_a_serving_model(lee_corpus_path, tmp_path):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path / "lee.txt"), documents=16)
    output = str(tmp_path / "out")
    run_pretrain_on_jax(seq2seq_arguments(corpus, output, steps=3), tmp_path / "first.log")
    check_output_directory(output)
    check_serving_model(os.path.join(output, "serving"), str(tmp_path))
    log = run_pretrain_on_jax(seq2seq_arguments(corpus, output, steps=5), tmp_path / "longer.log")
    assert "Resuming from step 3" in log and "Finished at step 5" in log, log[-3000:]
    check_serving_model(os.path.join(output, "serving"), str(tmp_path))


def test_a_failed_export_in_the_tensorflow_process_is_one_line_and_keeps_model_keras(tmp_path, monkeypatch):
    model = GptPretrainer(GptDecoder(vocabulary_size=10, name="backbone", **dict(GPT_SIZE, num_layers=1)))
    model.save(str(tmp_path / "model.keras"))
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")  # as a run on JAX calls it
    with pytest.raises(UsageError) as error:  # no vocab.txt: the export fails in its TensorFlow process
        export_run_model("backbone", model, str(tmp_path), output_dir=str(tmp_path / "backbone"),
                         vocabulary_path=str(tmp_path / "vocab.txt"), tokenizer_options={})
    assert str(error.value).startswith(
        f"the backbone export of {tmp_path / 'model.keras'} failed in its TensorFlow process "
        f"(cannot read vocabulary {tmp_path / 'vocab.txt'}: "
    ) and str(error.value).endswith(
        "); model.keras and the checkpoints are kept: run the same command again to retry the export"
    ) and "\n" not in str(error.value)
    assert not (tmp_path / "backbone").exists()
    monkeypatch.undo()
    assert keras.saving.load_model(str(tmp_path / "model.keras")).count_params() == model.count_params()
