import numpy as np

from layers import BertEmbedding
from tests.helpers.layer_testing import run_layer_test


def test_bert_embedding_layer():
    run_layer_test(
        BertEmbedding,
        {"vocabulary_size": 20, "hidden_dim": 4, "max_sequence_length": 8},
        {
            "token_ids": np.array([[2, 5, 3], [2, 7, 0]], "int32"),
            "segment_ids": np.array([[0, 0, 1], [0, 1, 1]], "int32"),
        },
        expected_output_shape=(2, 3, 4),
        expected_num_trainable_weights=5,
    )


def test_output_is_the_normalised_sum_of_the_three_embeddings():
    layer = BertEmbedding(vocabulary_size=20, hidden_dim=4, max_sequence_length=8)
    token_ids = np.array([[2, 5, 3]], "int32")
    segment_ids = np.array([[0, 0, 1]], "int32")
    output = np.asarray(layer(token_ids, segment_ids))
    total = (
        np.asarray(layer.token_embedding.embeddings)[token_ids[0]]
        + np.asarray(layer.position_embedding.position_embeddings)[:3]
        + np.asarray(layer.segment_embedding.embeddings)[segment_ids[0]]
    )
    normalised = (total - total.mean(-1, keepdims=True)) / np.sqrt(total.var(-1, keepdims=True) + 1e-12)
    np.testing.assert_allclose(output[0], normalised, atol=1e-5)
