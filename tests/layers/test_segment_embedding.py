import numpy as np
import pytest

from layers import SegmentEmbedding
from tests.helpers.layer_testing import run_layer_test


def test_segment_embedding_layer():
    run_layer_test(
        SegmentEmbedding,
        {"num_segments": 2, "hidden_dim": 4},
        {"segment_ids": np.array([[0, 0, 1], [0, 1, 1]], "int32")},
        expected_output_shape=(2, 3, 4),
        expected_num_trainable_weights=1,
    )


def test_float_segment_ids_are_rejected():
    with pytest.raises(ValueError, match="segment_ids"):
        SegmentEmbedding(num_segments=2, hidden_dim=4)(np.zeros((1, 3), "float32"))
