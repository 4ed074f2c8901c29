"""Checkpoints in a format every Keras backend reads: the variables' values by name in one `.npz` file per update.

On the TensorFlow backend a run checkpoints with `tf.train` (`pretrain.training.loop.Checkpointer`);
`tf.train.Checkpoint` tracks only TensorFlow objects, so on JAX (or any other backend) a run checkpoints
with `VariableCheckpointer` instead, into the same `OUTPUT/checkpoints` directory:

    ckpt-N.npz      the model's weights, the optimizer's variables (slots, update counter) and the
                    random state of the model's `SeedGenerator`s (dropout, sampling), after update N

Each group is stored in the order of `model.weights`, `model.optimizer.variables` and
`loop.random_state(model)`, with the variables' paths beside the values (`model.paths`, ...), and a
restore assigns them in that order after checking their count and shapes (not the paths: Keras numbers
unnamed layers, optimizers and seed generators by how many the process made before). A checkpoint is
written as `ckpt-N.partial.npz` and renamed to `ckpt-N.npz` in one atomic step, so a kill leaves the
previous checkpoints and at most a partial file, which the next restore removes; a file damaged
afterwards fails its CRC and the one before it is used.

Example:

>>> import keras, tempfile
>>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
>>> model.compile(optimizer="adam")
>>> checkpointer = VariableCheckpointer(model, tempfile.mkdtemp())
>>> os.path.basename(checkpointer.save()), checkpointer.restore()
('ckpt-0.npz', 0)
"""

import logging
import os
import re
import zipfile

import keras
import numpy as np

from pretrain.atomic_files import PARTIAL, atomic_file
from pretrain.training.loop import random_state, restore_newest, updates_done

logger = logging.getLogger(__name__)
CHECKPOINT = re.compile(r"ckpt-(\d+)\.npz")
# What reading a truncated, corrupt or mismatched checkpoint raises.
RESTORE_ERRORS = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile)


def variable_groups(model):
    """`{group: variables}` of what a checkpoint holds, each group in a fixed order."""
    return {
        "model": list(model.weights),
        "optimizer": list(model.optimizer.variables),
        "random_state": random_state(model),
    }


def saved_checkpoints(directory):
    """`{update count: path}` of the complete `ckpt-N.npz` files in `directory`."""
    names = os.listdir(directory) if os.path.isdir(directory) else []
    found = {int(m.group(1)): os.path.join(directory, name) for name in names if (m := CHECKPOINT.fullmatch(name))}
    return dict(sorted(found.items()))


def write_variables(path, groups):
    """Writes `{group: variables}` to the `.npz` file `path` atomically."""
    arrays = {}
    for group, variables in groups.items():
        arrays[f"{group}.paths"] = np.array([variable.path for variable in variables], dtype=str)
        for index, variable in enumerate(variables):
            arrays[f"{group}.{index}"] = keras.ops.convert_to_numpy(variable.value)
    with atomic_file(path) as staging:
        with open(staging, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())


def read_variables(path, groups):
    """Assigns the values saved in `path` to `{group: variables}`; raises ValueError on any mismatch."""
    with np.load(path, allow_pickle=False) as saved:
        values = {}
        for group, variables in groups.items():
            if f"{group}.paths" not in saved or len(saved[f"{group}.paths"]) != len(variables):
                raise ValueError(f"it holds other {group} variables than this model has")
            values[group] = [saved[f"{group}.{index}"] for index in range(len(variables))]
    for group, variables in groups.items():  # all read whole before any is assigned
        for variable, value in zip(variables, values[group]):
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(f"{variable.path} has shape {variable.shape}, the checkpoint {value.shape}")
            variable.assign(value)


class VariableCheckpointer:
    """Periodic checkpoints of a compiled model and its optimizer as `.npz` files (any Keras backend).

    The interface of `pretrain.training.loop.Checkpointer`, for one process (no multi-worker runs).

    Args:
        model: keras.Model. Compiled; its optimizer is built here so that a
            restore fills the optimizer slots too.
        directory: str. Where the checkpoints go (`OUTPUT/checkpoints`).
        max_to_keep: int. Checkpoints kept on disk. Defaults to 3.
    """

    chief = True

    def __init__(self, model, directory, max_to_keep=3):
        self.model = model
        self.directory = directory
        self.max_to_keep = max_to_keep
        self.restored = None  # the checkpoint `restore` read, if any
        model.optimizer.build(model.trainable_variables)
        self.random_state = random_state(model)

    def restore(self):
        """Restores the newest checkpoint that reads back whole; returns its update count (0 if none).

        One that fails (truncated, corrupt, another model's) is skipped with a warning that names it;
        if none restores, a `UsageError` names them all. What a write killed halfway left is removed first.
        """
        self._remove_killed_writes()
        self.restored = restore_newest(
            list(saved_checkpoints(self.directory).values()),
            lambda path: read_variables(path, variable_groups(self.model)),
            RESTORE_ERRORS,
            self.directory,
        )
        return updates_done(self.model) if self.restored else 0

    def _remove_killed_writes(self):
        names = os.listdir(self.directory) if os.path.isdir(self.directory) else []
        for name in names:
            if re.fullmatch(rf"ckpt-\d+{re.escape(PARTIAL)}\.npz", name):
                logger.info(f"Removing {name} in {self.directory}, the rest of a checkpoint write that was killed")
                os.remove(os.path.join(self.directory, name))

    def save(self):
        """Writes `ckpt-N.npz` for the current update count N and removes all but the newest `max_to_keep`."""
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, f"ckpt-{updates_done(self.model)}.npz")
        write_variables(path, variable_groups(self.model))
        for old in list(saved_checkpoints(self.directory).values())[:-self.max_to_keep]:
            os.remove(old)
        return path

    def latest_saved(self):
        """The update count of the newest checkpoint (None if none)."""
        return max(saved_checkpoints(self.directory), default=None)

    def close(self):
        """Nothing to clean up (the interface of `loop.Checkpointer`)."""
