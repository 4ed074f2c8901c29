import numpy as np
import pytest

from layers import MaskedMeanPooling
from tests.helpers.layer_testing import run_layer_test


def test_masked_mean_pooling_layer():
    run_layer_test(
        MaskedMeanPooling,
        {},
        {
            "sequence": np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32"),
            "padding_mask": np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], "int32"),
        },
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=0,
        run_training_step=False,  # no weights to train
    )


def test_padded_positions_never_change_the_mean():
    sequence = np.random.default_rng(1).normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], "int32")
    changed = sequence.copy()
    changed[0, 2:] = 1e3
    changed[1, 3] = -1e3
    pooling = MaskedMeanPooling()
    np.testing.assert_allclose(pooling(sequence, mask), pooling(changed, mask), atol=1e-6)
    np.testing.assert_allclose(pooling(sequence, mask)[1], sequence[1, :3].mean(axis=0), atol=1e-6)


def test_a_row_without_tokens_gives_zeros():
    pooled = MaskedMeanPooling()(np.ones((1, 3, 2), "float32"), np.zeros((1, 3), "int32"))
    np.testing.assert_array_equal(pooled, np.zeros((1, 2)))


def test_sequence_of_wrong_rank_is_rejected():
    with pytest.raises(ValueError, match="sequence"):
        MaskedMeanPooling()(np.ones((2, 3), "float32"), np.ones((2, 3), "int32"))
