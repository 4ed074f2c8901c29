"""The shared layer test: config and JSON round trips, eager and symbolic calls, `.keras` reload, one fit step.

Every layer test calls `run_layer_test` once per configuration; numerical
properties (parity, masks, caches) are tested beside it.
"""

import json
import os
import tempfile

import keras
import numpy as np


def run_layer_test(
    layer_class,
    init_kwargs,
    inputs,
    expected_output_shape,
    call_kwargs=None,
    expected_num_trainable_weights=None,
    run_training_step=True,
):
    """Check `layer_class(**init_kwargs)` on the tensors `inputs` (a dict of call keyword -> array).

    Args:
        layer_class: the layer class under test.
        init_kwargs: constructor arguments.
        inputs: dict of call-argument name -> numpy array; each becomes a
            `keras.Input` in the symbolic call. The first entry is the main input.
        expected_output_shape: tuple, the output shape of the eager call.
        call_kwargs: non-tensor call arguments (e.g. `use_causal_mask=True`).
        expected_num_trainable_weights: int or None.
        run_training_step: bool. Fit one step on random targets and check that
            every trainable weight moved.
    """
    call_kwargs = call_kwargs or {}
    layer = layer_class(**init_kwargs)
    _check_config_round_trips(layer_class, layer)

    eager_output = layer(**inputs, **call_kwargs)
    assert tuple(eager_output.shape) == tuple(expected_output_shape)
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights

    model = _functional_model(layer_class(**init_kwargs), inputs, call_kwargs)
    symbolic_shape = tuple(model.outputs[0].shape)
    assert symbolic_shape[1:] == tuple(expected_output_shape)[1:] or None in symbolic_shape
    _check_keras_file_round_trip(model, inputs)
    if run_training_step:
        _check_training_step(model, inputs, expected_output_shape)
    return layer


def _check_config_round_trips(layer_class, layer):
    config = layer.get_config()
    assert layer_class.from_config(config).get_config() == config
    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
    revived = keras.saving.deserialize_keras_object(serialized)
    assert type(revived) is layer_class
    assert revived.get_config() == config


def _functional_model(layer, inputs, call_kwargs):
    symbolic = {
        name: keras.Input(shape=value.shape[1:], dtype=str(value.dtype), name=name)
        for name, value in inputs.items()
    }
    output = layer(**symbolic, **call_kwargs)
    return keras.Model(symbolic, output)


def _check_keras_file_round_trip(model, inputs):
    expected = model.predict(inputs, verbose=0)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "layer.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(reloaded.predict(inputs, verbose=0), expected, atol=1e-6)


def _check_training_step(model, inputs, output_shape):
    before = [weight.numpy() for weight in model.trainable_weights]
    assert before, "a training step needs trainable weights"
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    targets = np.random.default_rng(0).normal(size=output_shape).astype("float32")
    history = model.fit(inputs, targets, batch_size=output_shape[0], epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    for old, weight in zip(before, model.trainable_weights):
        assert not np.array_equal(old, weight.numpy()), f"{weight.path} did not train"
