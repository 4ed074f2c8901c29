"""A run's checkpoints on either Keras backend: `tf.train` ones on TensorFlow, `.npz` ones on JAX.

`create_checkpointer` picks the format of the backend the process runs (`KERAS_BACKEND`):
`loop.Checkpointer` (`tf.train.CheckpointManager`, as every run before JAX wrote, so their
checkpoints still restore) or `variable_checkpoints.VariableCheckpointer` (any backend). A run resumes
on the backend it started on: a directory holding the other format is refused with a line that says
which backend to use. `latest_checkpoint` and `restore_weights` read either format, so a TensorFlow
process loads the weights of a run that JAX trained (`load_pretrained`, `pretrain export`).

Example:

>>> import tempfile
>>> latest_checkpoint(tempfile.mkdtemp()) is None
True
"""

import os

import keras
import tensorflow as tf

from pretrain.errors import UsageError
from pretrain.training import loop
from pretrain.training.variable_checkpoints import VariableCheckpointer, read_variables, saved_checkpoints

# The format each backend writes; every other backend writes `.npz` files.
TENSORFLOW_FORMAT, VARIABLES_FORMAT = "tf.train", "npz"


def backend_format():
    """The checkpoint format of the process's Keras backend."""
    return TENSORFLOW_FORMAT if keras.backend.backend() == "tensorflow" else VARIABLES_FORMAT


def latest_checkpoint(directory):
    """`(format, path)` of the newest checkpoint in `directory` (`tf.train` prefix or `.npz` file), or None."""
    tensorflow_latest = tf.train.latest_checkpoint(directory) if os.path.isdir(directory) else None
    if tensorflow_latest:
        return TENSORFLOW_FORMAT, tensorflow_latest
    saved = saved_checkpoints(directory)
    return (VARIABLES_FORMAT, saved[max(saved)]) if saved else None


def create_checkpointer(model, directory, chief=True, max_to_keep=3):
    """The checkpointer of the backend's format for `model` (see `loop.Checkpointer` for the arguments)."""
    latest = latest_checkpoint(directory)
    if latest and latest[0] != backend_format():
        written_by = "TensorFlow" if latest[0] == TENSORFLOW_FORMAT else "another backend than TensorFlow (JAX)"
        raise UsageError(
            f"{directory} holds checkpoints that {written_by} wrote; resume the run on that backend "
            f"(KERAS_BACKEND={'tensorflow' if latest[0] == TENSORFLOW_FORMAT else 'jax'}), or choose a new --output"
        )
    if backend_format() == TENSORFLOW_FORMAT:
        return loop.Checkpointer(model, directory, chief, max_to_keep)
    return VariableCheckpointer(model, directory, max_to_keep)


def restore_weights(model, directory):
    """Sets `model.weights` from the newest checkpoint in `directory`; returns its path (None if none).

    `tf.train` checkpoints need the TensorFlow backend; `.npz` ones restore on any.
    """
    latest = latest_checkpoint(directory)
    if latest is None:
        return None
    checkpoint_format, path = latest
    if checkpoint_format == VARIABLES_FORMAT:
        read_variables(path, {"model": model.weights})
    elif keras.backend.backend() == "tensorflow":
        tf.train.Checkpoint(model=model).restore(path).expect_partial()
    else:
        raise UsageError(f"{path} is a TensorFlow checkpoint; read it with KERAS_BACKEND=tensorflow")
    return path
