import numpy as np
import pytest

from layers import NextSentenceHead
from tests.helpers.layer_testing import run_layer_test


def test_next_sentence_head_layer():
    run_layer_test(
        NextSentenceHead,
        {},
        {"pooled_output": np.random.rand(3, 8).astype("float32")},
        expected_output_shape=(3, 2),
        expected_num_trainable_weights=2,
    )


def test_sequence_input_is_rejected():
    with pytest.raises(ValueError, match="pooled_output"):
        NextSentenceHead()(np.zeros((2, 3, 8), "float32"))
