import numpy as np
import pytest

from layers import TokenEmbedding
from tests.helpers.layer_testing import run_layer_test


def test_token_embedding_layer():
    run_layer_test(
        TokenEmbedding,
        {"vocabulary_size": 20, "hidden_dim": 4},
        {"inputs": np.array([[1, 2, 3], [4, 5, 0]], "int32")},
        expected_output_shape=(2, 3, 4),
        expected_num_trainable_weights=1,
    )


def test_reverse_projection_is_the_transposed_embedding():
    embedding = TokenEmbedding(vocabulary_size=7, hidden_dim=3)
    vectors = embedding(np.array([[0, 5]], "int32"))
    logits = np.asarray(embedding(vectors, reverse=True))
    table = np.asarray(embedding.embeddings)
    np.testing.assert_allclose(logits, np.asarray(vectors) @ table.T, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(vectors)[0, 1], table[5])


def test_float_token_ids_are_rejected():
    with pytest.raises(ValueError, match="token_ids"):
        TokenEmbedding(vocabulary_size=7, hidden_dim=3)(np.zeros((1, 2), "float32"))
