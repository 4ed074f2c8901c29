"""The `.npz` checkpoints that runs on JAX write: exact restore, keep-N, a kill's rest removed, damage skipped,
and a directory of the other backend's format refused. `VariableCheckpointer` is backend-neutral, so these run
in the TensorFlow test process; `test_jax_backend.py` runs it under JAX."""

import logging
import os

import keras
import numpy as np
import pytest

from layers import GptDecoder
from pretrain.errors import UsageError
from pretrain.objectives.gpt_pretrainer import GptPretrainer
from pretrain.objectives.pretrained import build_pretrainer
from pretrain.training import loop
from pretrain.training.checkpoints import create_checkpointer, latest_checkpoint, restore_weights
from pretrain.training.optimizer import create_optimizer
from pretrain.training.pretrain_config import GptPretrainConfig, TrainingConfig
from pretrain.training.variable_checkpoints import VariableCheckpointer, saved_checkpoints

SIZE = {"num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 16}


def compiled_gpt(seed):
    keras.utils.set_random_seed(seed)
    model = GptPretrainer(GptDecoder(vocabulary_size=30, dropout=0.1, name="backbone", **SIZE))
    model.compile(optimizer=create_optimizer(TrainingConfig(steps=10), model))
    return model


def state(model):
    """Every value a checkpoint holds: weights, optimizer variables, dropout seeds."""
    return [keras.ops.convert_to_numpy(v) for v in model.weights + model.optimizer.variables + loop.random_state(model)]


def advanced(model, updates, seed=0):
    """`model` as if trained `updates` more updates: new values everywhere, the update counter moved on."""
    rng = np.random.default_rng(seed)
    for variable in model.weights + model.optimizer.variables + loop.random_state(model):
        if variable is not model.optimizer.iterations:
            variable.assign(rng.integers(0, 1000, variable.shape).astype(variable.dtype))
    model.optimizer.iterations.assign_add(updates)


def test_a_restore_sets_weights_optimizer_slots_and_dropout_seeds_exactly(tmp_path):
    model = compiled_gpt(0)
    checkpointer = VariableCheckpointer(model, str(tmp_path))
    advanced(model, 3)
    assert checkpointer.save() == str(tmp_path / "ckpt-3.npz")
    other = compiled_gpt(1)
    restored = VariableCheckpointer(other, str(tmp_path))
    assert restored.restore() == 3 and restored.restored == str(tmp_path / "ckpt-3.npz")
    assert restored.random_state
    for ours, theirs in zip(state(other), state(model), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_keep_n_a_killed_write_and_a_damaged_newest_checkpoint(tmp_path, caplog):
    model = compiled_gpt(0)
    checkpointer = VariableCheckpointer(model, str(tmp_path), max_to_keep=2)
    for seed in range(3):
        advanced(model, 1, seed)
        checkpointer.save()
    assert list(saved_checkpoints(str(tmp_path))) == [2, 3]
    (tmp_path / "ckpt-4.partial.npz").write_bytes(b"a write killed halfway")
    newest = tmp_path / "ckpt-3.npz"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # truncated afterwards
    with caplog.at_level(logging.WARNING):
        assert VariableCheckpointer(compiled_gpt(1), str(tmp_path)).restore() == 2
    assert f"checkpoint {newest} cannot be restored" in caplog.text
    assert not (tmp_path / "ckpt-4.partial.npz").exists()
    (tmp_path / "ckpt-2.npz").write_bytes(b"damaged too")
    with pytest.raises(UsageError, match=r"no checkpoint in .* can be restored .*delete that directory"):
        VariableCheckpointer(compiled_gpt(1), str(tmp_path)).restore()


def test_a_directory_of_the_other_format_is_refused_and_load_pretrained_reads_npz(tmp_path):
    model = compiled_gpt(0)
    VariableCheckpointer(model, str(tmp_path)).save()
    assert latest_checkpoint(str(tmp_path)) == ("npz", str(tmp_path / "ckpt-0.npz"))
    with pytest.raises(UsageError, match=r"checkpoints that another backend than TensorFlow \(JAX\) wrote; "
                                         r"resume the run on that backend \(KERAS_BACKEND=jax\)"):
        create_checkpointer(compiled_gpt(1), str(tmp_path))
    config = GptPretrainConfig(backbone=model.backbone.get_config())
    rebuilt = build_pretrainer(config, GptDecoder.from_config(dict(config.backbone, dtype=None)))
    assert restore_weights(rebuilt, str(tmp_path)) == str(tmp_path / "ckpt-0.npz")
    for ours, theirs in zip(rebuilt.weights, model.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs))
    assert isinstance(create_checkpointer(compiled_gpt(1), str(tmp_path / "new")), loop.Checkpointer)
    assert not os.path.exists(tmp_path / "new" / "checkpoint")
