"""The pretraining optimizer: schedule shape, decay exclusions, clipping, accumulation."""

import doctest

import keras
import numpy as np
import pytest

from pretrain.training import optimizer as optimizer_module
from pretrain.training.optimizer import WarmupLinearDecay, create_optimizer, warmup_linear_decay
from pretrain.training.pretrain_config import TrainingConfig


def test_doctests():
    assert doctest.testmod(optimizer_module).failed == 0


def test_schedule_warms_up_linearly_then_decays_linearly_to_zero():
    peak, warmup, total = 2e-3, 10, 50
    rates = np.array([float(warmup_linear_decay(s, peak, warmup, total)) for s in range(total + 5)])
    np.testing.assert_allclose(rates[:warmup], peak * np.arange(1, warmup + 1) / warmup, rtol=1e-5)
    assert rates.argmax() == warmup - 1
    decay = rates[warmup - 1 : total + 1]
    np.testing.assert_allclose(np.diff(decay), -peak / (total - warmup + 1), rtol=1e-4)
    assert rates[total] == 0.0 and (rates[total:] == 0.0).all()


def test_schedule_counts_updates_not_batches_under_accumulation():
    plain = WarmupLinearDecay(1e-3, warmup_steps=4, total_steps=20)
    accumulated = WarmupLinearDecay(1e-3, warmup_steps=4, total_steps=20, accumulation_steps=3)
    for batch in range(60):
        assert float(accumulated(batch)) == pytest.approx(float(plain(batch // 3)))
    assert keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(accumulated)
    ).get_config() == accumulated.get_config()


def _model_with_layer_norm():
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(8, name="dense")(inputs)
    hidden = keras.layers.LayerNormalization(name="layer_norm")(hidden)
    outputs = keras.layers.Dense(3, name="output")(hidden)
    return keras.Model(inputs, outputs)


def test_weight_decay_skips_layer_norm_and_biases():
    model = _model_with_layer_norm()
    for variable in model.weights:  # non-zero everywhere so decay would show
        variable.assign(np.full(variable.shape, 0.5, "float32"))
    config = TrainingConfig(steps=10, warmup_fraction=0.0, learning_rate=0.1, weight_decay=0.5)
    optimizer = create_optimizer(config, model)
    before = {v.path: v.numpy() for v in model.weights}
    # Zero gradients: Adam moves nothing, so only weight decay changes a variable.
    optimizer.apply_gradients([(np.zeros(v.shape, "float32"), v) for v in model.trainable_weights])
    changed = {v.path for v in model.weights if not np.allclose(v.numpy(), before[v.path])}
    assert changed == {"dense/kernel", "output/kernel"}


def test_global_norm_clipping_rescales_large_gradients():
    direction = np.array([0.6, -0.8], "float32")  # unit norm

    def final_value(config, gradients):
        variable = keras.Variable(np.zeros(2, "float32"), name="kernel")
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
        optimizer = create_optimizer(config, model)
        for gradient in gradients:
            optimizer.apply_gradients([(gradient, variable)])
        return variable.numpy()

    config = TrainingConfig(steps=10, warmup_fraction=0.0, weight_decay=0.0, clip_norm=1.0)
    clipped = final_value(config, [100.0 * direction, direction])
    reference = final_value(config.replace(clip_norm=1e9), [direction, direction])
    unclipped = final_value(config.replace(clip_norm=1e9), [100.0 * direction, direction])
    np.testing.assert_allclose(clipped, reference, rtol=1e-5)
    assert not np.allclose(unclipped, reference, rtol=1e-3)


@pytest.mark.parametrize("optimizer_name", ["adamw", "lamb"])
def test_accumulated_small_batches_equal_one_large_batch(optimizer_name):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(32, 6)).astype("float32")
    targets = rng.normal(size=(32, 3)).astype("float32")
    config = TrainingConfig(steps=4, warmup_fraction=0.0, learning_rate=1e-2, optimizer=optimizer_name)

    def train(batch_size, accumulation_steps):
        keras.utils.set_random_seed(1)
        model = _model_with_layer_norm()
        model.compile(
            optimizer=create_optimizer(config.replace(accumulation_steps=accumulation_steps), model),
            loss="mse",
        )
        model.fit(features, targets, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        return model

    large = train(batch_size=8, accumulation_steps=1)
    accumulated = train(batch_size=2, accumulation_steps=4)
    assert int(accumulated.optimizer.iterations) == int(large.optimizer.iterations) == 4
    for a, b in zip(accumulated.weights, large.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-5)
