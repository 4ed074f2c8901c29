import math

import numpy as np
import pytest

from layers import SinusoidalPositionEncoding
from tests.helpers.layer_testing import run_layer_test


def test_sinusoidal_position_encoding_layer():
    run_layer_test(
        SinusoidalPositionEncoding,
        {"max_wavelength": 100.0},
        {"inputs": np.random.rand(2, 5, 6).astype("float32")},
        expected_output_shape=(2, 5, 6),
        expected_num_trainable_weights=0,
        run_training_step=False,
    )


def test_values_follow_vaswani_formula():
    encoding = np.asarray(SinusoidalPositionEncoding()(np.zeros((1, 7, 8), "float32")))[0]
    for position in range(7):
        for pair in range(4):
            angle = position / 10000 ** (2 * pair / 8)
            assert encoding[position, 2 * pair] == pytest.approx(math.sin(angle), abs=1e-5)
            assert encoding[position, 2 * pair + 1] == pytest.approx(math.cos(angle), abs=1e-5)


def test_start_index_shifts_positions():
    layer = SinusoidalPositionEncoding()
    full = np.asarray(layer(np.zeros((1, 6, 4), "float32")))
    shifted = np.asarray(layer(np.zeros((1, 2, 4), "float32"), start_index=4))
    np.testing.assert_allclose(shifted, full[:, 4:6], atol=1e-6)


def test_odd_hidden_dim_is_rejected():
    with pytest.raises(ValueError, match="hidden_dim"):
        SinusoidalPositionEncoding()(np.zeros((1, 3, 5), "float32"))
