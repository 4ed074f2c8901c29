import numpy as np
import pytest

from layers import PositionEmbedding
from tests.helpers.layer_testing import run_layer_test


def test_position_embedding_layer():
    run_layer_test(
        PositionEmbedding,
        {"sequence_length": 8},
        {"inputs": np.random.rand(2, 5, 4).astype("float32")},
        expected_output_shape=(2, 5, 4),
        expected_num_trainable_weights=1,
    )


def test_start_index_selects_later_positions():
    layer = PositionEmbedding(sequence_length=8)
    inputs = np.zeros((1, 3, 4), "float32")
    layer(inputs)
    table = np.asarray(layer.position_embeddings)
    np.testing.assert_allclose(np.asarray(layer(inputs, start_index=2))[0], table[2:5])


def test_sequence_longer_than_positions_is_rejected():
    with pytest.raises(ValueError, match="max_sequence_length"):
        PositionEmbedding(sequence_length=4)(np.zeros((1, 5, 2), "float32"))
