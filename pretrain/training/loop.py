"""The pretraining loop: Keras `fit` with checkpoints, exact resume and distribution.

A run is cut into *rounds* of `checkpoint_every` optimizer updates; Keras shows
each round as one epoch of its progress bar. After each round the model is
evaluated on the held-out split and a checkpoint (weights, optimizer slots and
the update counter) is written to `OUTPUT/checkpoints`. Run the same command
again after a crash or a kill and the run resumes from the last checkpoint: the
learning-rate schedule continues where it stopped and the run ends at exactly
the requested number of updates. A resume is exact: the training batches are a
pure function of the data seed and the batch number (`run_pretraining` skips the
batches the restored update count implies), and the checkpoint holds the dropout
random state (the models' `SeedGenerator`s) beside the weights and optimizer
slots, so a killed and resumed run ends with the weights of a run never killed,
up to floating-point noise. A kill repeats at most the updates made since the
last checkpoint.

Distribution: `"mirrored"` trains on every local device with
`tf.distribute.MirroredStrategy`; `"multi-worker"` reads the cluster from the
`TF_CONFIG` environment variable (`tf.distribute.MultiWorkerMirroredStrategy`).
Every worker runs the same command; only the chief writes checkpoints, logs and
the exported model into OUTPUT (the others write to a scratch directory that
they delete, as TensorFlow's multi-worker checkpointing requires). Every worker
resumes from the chief's checkpoints, so OUTPUT must be on a file system all
workers see. When a worker dies, the others stop within seconds with a one-line
error (TensorFlow aborts the collective that waits for the lost worker: at once
when its connection drops, otherwise when the coordination service's heartbeat
misses it); start every worker again to resume from the last checkpoint. At the
end each worker logs a digest of its weights (`weights_digest`), equal on all of
them.

On the JAX backend (`KERAS_BACKEND=jax`) `fit` trains in one process (the
strategies above are TensorFlow's and refused there), and the checkpoints are
`.npz` files (`pretrain.training.checkpoints.create_checkpointer` picks the
format); resume is exact on both.
"""

import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from pretrain.errors import UsageError

logger = logging.getLogger(__name__)
# What restoring a truncated or corrupt checkpoint raises (TensorFlow's reader, the object matcher).
RESTORE_ERRORS = (tf.errors.OpError, ValueError, IndexError, KeyError, AssertionError)
# What a collective raises when another worker of the cluster is gone (killed, restarted, unreachable),
# and what its message then says.
PEER_ERRORS = (
    tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.CancelledError,
    tf.errors.DeadlineExceededError, tf.errors.FailedPreconditionError,
)
PEER_LOST = re.compile(r"[Cc]ollective|remote target|unhealthy|heartbeat")


def format_metrics(metrics):
    """`"name value, ..."` of a run's final metrics, `step` left out, sorted by name."""
    return ", ".join(f"{name} {value:.4g}" for name, value in sorted(metrics.items()) if name != "step")


def create_strategy(name):
    """The `tf.distribute` strategy called `name` ("default", "mirrored", "multi-worker").

    Create it before any other TensorFlow work: multi-worker collectives must
    be configured first. On another Keras backend than TensorFlow only "default"
    is known (one process; JAX uses the local devices it sees).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name in ("mirrored", "multi-worker") and keras.backend.backend() != "tensorflow":
        raise UsageError(
            f"--strategy {name} needs the TensorFlow backend: run with KERAS_BACKEND=tensorflow, "
            f"or drop --strategy on {keras.backend.backend()}"
        )
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise UsageError(
                "--strategy multi-worker needs the TF_CONFIG environment variable "
                '(e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                '"task": {"type": "worker", "index": 0}}) on every worker'
            )
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as error:
            raise UsageError(f"TF_CONFIG is not valid JSON: {error.msg}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise UsageError(f"unknown strategy {name!r}; use default, mirrored or multi-worker")


def is_chief(strategy):
    """True on the worker that writes outputs (always true without a cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and (
        "chief" not in resolver.cluster_spec().as_dict()
    )


def worker_shard(strategy):
    """`(index, count)` of this worker's share of the input (the chief is 0)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
    if not cluster:
        return 0, 1
    chiefs = len(cluster.get("chief", []))
    count = chiefs + len(cluster.get("worker", []))
    index = 0 if resolver.task_type == "chief" else chiefs + resolver.task_id
    return index, count


def updates_done(model):
    """The optimizer updates made so far (also for mirrored variables)."""
    if keras.backend.backend() == "tensorflow":
        return int(tf.convert_to_tensor(model.optimizer.iterations))
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def skip_trained_batches(train_dataset, step, training):
    """`train_dataset` from the batch a run resumed at update `step` goes on with (all of it at step 0).

    The batches are a function of their number, so skipping the `step * accumulation_steps` the run
    trained on gives it the batches of a run never interrupted.
    """
    trained_batches = step * training.accumulation_steps
    if not trained_batches:
        return train_dataset
    logger.info(f"Skipping the {trained_batches} training batches the run has trained on")
    return train_dataset.skip(trained_batches)


class Checkpointer:
    """Periodic checkpoints of a compiled model and its optimizer.

    Args:
        model: keras.Model. Compiled; its optimizer is built here so that a
            restore fills the optimizer slots too.
        directory: str. Where the chief writes (`OUTPUT/checkpoints`), and
            where every worker restores from.
        chief: bool. Non-chief workers write into a scratch directory.
        max_to_keep: int. Checkpoints kept on disk. Defaults to 3.

    TensorFlow writes a checkpoint's files first and records it in the
    directory's `checkpoint` file last (an atomic rename), so a kill leaves
    the previous checkpoint as the latest or the new one complete. A
    checkpoint whose files were damaged afterwards is skipped on restore.

    Beside the weights and optimizer slots, a checkpoint holds the random
    state of the model's `SeedGenerator`s (dropout, sampling) under
    `random_state`: `tf.train.Checkpoint(model=...)` tracks only the weights
    (Keras's `model.weights`, not the seeds of `model.variables`), and without
    it a resumed run would draw the dropout masks of update 0 again. A
    checkpoint written before `random_state` existed still restores, with
    fresh dropout masks (a warning says so).
    """

    def __init__(self, model, directory, chief=True, max_to_keep=3):
        self.model = model
        self.restored = None  # the checkpoint `restore` read, if any
        self.chief = chief
        self.directory = directory if chief else tempfile.mkdtemp(prefix="worker-checkpoints-")
        model.optimizer.build(model.trainable_variables)
        self.random_state = random_state(model)
        self.checkpoint = tf.train.Checkpoint(
            model=model, optimizer=model.optimizer, random_state=self.random_state
        )
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory, max_to_keep)
        # Every worker resumes from the chief's checkpoints (another worker's manager only reads them).
        self.chief_manager = (
            self.manager if chief else tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep)
        )

    def restore(self):
        """Restores the newest checkpoint that reads back whole; returns its update count (0 if none).

        One that fails (truncated or corrupt files) is skipped with a warning that names it; if none
        restores, a `UsageError` names them all. The chief first removes what a write killed halfway
        left (TensorFlow's `ckpt-N_temp` directories, never recorded as checkpoints).
        """
        if self.chief:
            self._remove_killed_writes()
        self.restored = restore_newest(
            self.chief_manager.checkpoints, self._restore, RESTORE_ERRORS, self.chief_manager.directory
        )
        return updates_done(self.model) if self.restored else 0

    def _remove_killed_writes(self):
        names = os.listdir(self.directory) if os.path.isdir(self.directory) else []
        for name in names:
            if re.fullmatch(r"ckpt-\d+_temp.*", name) and os.path.isdir(os.path.join(self.directory, name)):
                logger.info(f"Removing {name} in {self.directory}, the rest of a checkpoint write that was killed")
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)

    def _restore(self, path):
        saved = {name.split("/", 1)[0] for name, _ in tf.train.list_variables(path)}
        checkpoint = self.checkpoint
        if self.random_state and "random_state" not in saved:
            logger.warning(f"{path} holds no dropout random state (an older checkpoint); the resumed run "
                           "draws other dropout masks than an uninterrupted one would")
            checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.model.optimizer)
        checkpoint.restore(path).assert_existing_objects_matched()

    def save(self):
        """Writes a checkpoint named by the current update count (all workers must call it)."""
        step = updates_done(self.model)
        path = self.manager.save(checkpoint_number=step)
        return path if self.chief else None

    def latest_saved(self):
        """The update count of the chief's newest recorded checkpoint (None if none), as a resume would read it."""
        latest = tf.train.latest_checkpoint(self.chief_manager.directory)
        return int(latest.rsplit("-", 1)[1]) if latest else None

    def close(self):
        if not self.chief:
            shutil.rmtree(self.directory, ignore_errors=True)


def restore_newest(paths, restore, errors, directory):
    """Calls `restore(path)` on the checkpoint `paths` (oldest first), newest first, until one succeeds;
    returns that path (None if `paths` is empty).

    One that raises one of `errors` (truncated or corrupt files) is skipped with a warning that names
    it; if none restores, a `UsageError` names them all and says what to do.
    """
    damaged = []
    for path in reversed(paths):
        try:
            restore(path)
        except errors as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            logger.warning(f"checkpoint {path} cannot be restored ({reason[:200]}); trying the one before it")
            damaged.append(path)
            continue
        if damaged:
            logger.warning(f"resuming from {path}, the newest checkpoint that restores")
        return path
    if damaged:
        raise UsageError(
            f"no checkpoint in {directory} can be restored ({', '.join(damaged)} are damaged); "
            "delete that directory to start the run over, or choose a new --output"
        )
    return None


def weights_digest(model):
    """The first 16 hex digits of the SHA-256 of `model.weights`' values, in order (equal weights, equal digest)."""
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight.value)).tobytes())
    return digest.hexdigest()[:16]


def random_state(model):
    """The variables of `model`'s `SeedGenerator`s: Keras's `model.variables` are its weights and these."""
    weights = {id(weight) for weight in model.weights}
    return [variable for variable in model.variables if id(variable) not in weights]


class CheckpointEachRound(keras.callbacks.Callback):
    """Saves a checkpoint at the end of every round (Keras epoch)."""

    def __init__(self, checkpointer):
        super().__init__()
        self.checkpointer = checkpointer

    def on_epoch_end(self, epoch, logs=None):
        self.checkpointer.save()


class StopAtStep(keras.callbacks.Callback):
    """Stops `fit` once the optimizer has made `steps` updates, `initial_step` of them before `fit` began.

    It counts batches rather than reading the optimizer's counter: on JAX the
    model's variables hold no values while `fit` runs an epoch.
    """

    def __init__(self, steps, initial_step, accumulation_steps):
        super().__init__()
        self.steps = steps
        self.initial_step = initial_step
        self.accumulation_steps = accumulation_steps
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.initial_step + self.batches // self.accumulation_steps >= self.steps:
            self.model.stop_training = True


def fit(model, train_dataset, heldout_dataset, training, checkpointer, log_dir, initial_step):
    """Trains `model` from update `initial_step` to `training.steps`.

    Args:
        model: keras.Model. Compiled, with weights restored by `checkpointer`.
        train_dataset: tf.data.Dataset. Endless batches `(x, y)`.
        heldout_dataset: tf.data.Dataset or None. Finite held-out batches.
        training: TrainingConfig.
        checkpointer: Checkpointer.
        log_dir: str. TensorBoard log directory.
        initial_step: int. Updates already made (from the restored checkpoint).

    Returns:
        dict. The last round's logs (training and `val_` held-out metrics).
    """
    round_length = min(training.checkpoint_every, training.steps)
    options = {
        "steps_per_epoch": round_length * training.accumulation_steps,
        "epochs": math.ceil(training.steps / round_length),
        "initial_epoch": initial_step // round_length,
        "validation_data": heldout_dataset,
        "callbacks": [
            StopAtStep(training.steps, initial_step, training.accumulation_steps),
            CheckpointEachRound(checkpointer),
            keras.callbacks.TensorBoard(log_dir),
        ],
        "shuffle": False,
        "verbose": 1 if checkpointer.chief else 0,
    }
    if keras.backend.backend() == "tensorflow":
        history = _fit_in_strategy(model, train_dataset, options, checkpointer)
    else:  # JAX: one process, Keras converts the tf.data batches
        history = model.fit(train_dataset, **options)
    logger.info(f"Weights after update {updates_done(model)}: digest {weights_digest(model)}")
    return {name: values[-1] for name, values in history.history.items()}


def _fit_in_strategy(model, train_dataset, options, checkpointer):
    """`model.fit` in the model's `tf.distribute` strategy (TensorFlow backend)."""
    strategy = model.distribute_strategy
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    if multi_worker:
        _work_around_keras_multi_worker_reduction(model)
    with strategy.scope():
        # Keras's symbolic pre-build reduces one input batch across workers,
        # which fails for dict inputs under MultiWorkerMirroredStrategy. The
        # model, metrics and optimizer were built in this scope already, and
        # inside the scope fit still distributes through this strategy.
        model._distribute_strategy = None
        try:
            return model.fit(train_dataset, **options)
        except PEER_ERRORS as error:
            if not (multi_worker and PEER_LOST.search(error.message)):
                raise
            raise UsageError(lost_worker_message(error, checkpointer.latest_saved())) from None


def lost_worker_message(error, latest_step):
    """One line for a collective that failed because another worker is gone; `latest_step` is the last checkpoint's."""
    peer = re.search(r"remote target /job:(\w+)/replica:\d+/task:(\d+)", error.message)
    who = f"{peer.group(1)} {peer.group(2)}" if peer else "another worker"
    aborted = re.search(r"Collective ops is aborted by: ([^\n]+)", error.message)
    reason = aborted.group(1) if aborted else re.sub(r"^\{\{[^}]*\}\}\s*", "", error.message.strip().splitlines()[0])
    resume = f"update {latest_step}" if latest_step else "the start"
    return (
        f"training stopped: {who} of the cluster is gone ({type(error).__name__}: {reason[:200]}). "
        f"Start every worker again with the same command; the run resumes from its last checkpoint ({resume})"
    )


def _work_around_keras_multi_worker_reduction(model):
    """Keras 3 reduces each step's logs with `strategy.reduce("MEAN", v, axis=0)`
    under MultiWorkerMirroredStrategy, which fails for scalar metrics
    (tensorflow/tensorflow#72388); logs of shape [1] reduce to the same scalar."""
    compute_metrics = model.compute_metrics

    def metrics_of_shape_one(*args, **kwargs):
        return {name: tf.reshape(value, [1]) for name, value in compute_metrics(*args, **kwargs).items()}

    model.compute_metrics = metrics_of_shape_one
