import numpy as np
import pytest

from layers import ReplacedTokenDetectionHead
from tests.helpers.layer_testing import run_layer_test


def test_replaced_token_detection_head_layer():
    run_layer_test(
        ReplacedTokenDetectionHead,
        {"activation": "gelu_approximate"},
        {"sequence_output": np.random.rand(3, 5, 8).astype("float32")},
        expected_output_shape=(3, 5),
        expected_num_trainable_weights=4,
    )


def test_the_hidden_dense_is_as_wide_as_the_input():
    head = ReplacedTokenDetectionHead()
    head(np.zeros((1, 2, 6), "float32"))
    assert tuple(head.dense.kernel.shape) == (6, 6) and tuple(head.logit.kernel.shape) == (6, 1)


def test_pooled_input_is_rejected():
    with pytest.raises(ValueError, match="sequence_output"):
        ReplacedTokenDetectionHead()(np.zeros((2, 8), "float32"))
