import numpy as np
import pytest

from layers import FeedForward
from tests.helpers.layer_testing import run_layer_test


@pytest.mark.parametrize("activation", ["relu", "gelu", "gelu_approximate"])
def test_feed_forward_layer(activation):
    run_layer_test(
        FeedForward,
        {"intermediate_dim": 16, "activation": activation, "dropout": 0.1},
        {"inputs": np.random.rand(2, 3, 8).astype("float32")},
        expected_output_shape=(2, 3, 8),
        expected_num_trainable_weights=4,
    )


def test_relu_feed_forward_matches_numpy():
    layer = FeedForward(intermediate_dim=6, activation="relu")
    inputs = np.random.default_rng(0).normal(size=(1, 2, 4)).astype("float32")
    output = np.asarray(layer(inputs))
    hidden = np.maximum(inputs @ np.asarray(layer.intermediate_dense.kernel) + np.asarray(layer.intermediate_dense.bias), 0)
    expected = hidden @ np.asarray(layer.output_dense.kernel) + np.asarray(layer.output_dense.bias)
    np.testing.assert_allclose(output, expected, atol=1e-5)


def test_unknown_activation_is_rejected():
    with pytest.raises(ValueError, match="activation"):
        FeedForward(intermediate_dim=4, activation="swishy")
