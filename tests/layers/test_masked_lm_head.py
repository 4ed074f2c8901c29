import numpy as np
import pytest

from layers import MaskedLMHead, TokenEmbedding
from tests.helpers.layer_testing import run_layer_test

SEQUENCE = np.random.default_rng(0).normal(size=(2, 6, 8)).astype("float32")
POSITIONS = np.array([[1, 4], [0, 5]], "int32")


def test_masked_lm_head_layer_untied():
    run_layer_test(
        MaskedLMHead,
        {"vocabulary_size": 20},
        {"sequence_output": SEQUENCE, "mask_positions": POSITIONS},
        expected_output_shape=(2, 2, 20),
        expected_num_trainable_weights=6,
    )


def test_masked_lm_head_layer_tied():
    embedding_config = TokenEmbedding(vocabulary_size=20, hidden_dim=8).get_config()
    run_layer_test(
        MaskedLMHead,
        {"token_embedding": TokenEmbedding.from_config(embedding_config)},
        {"sequence_output": SEQUENCE, "mask_positions": POSITIONS},
        expected_output_shape=(2, 2, 20),
        expected_num_trainable_weights=6,
    )


def test_tied_head_uses_the_embedding_and_only_masked_positions():
    embedding = TokenEmbedding(vocabulary_size=20, hidden_dim=8)
    head = MaskedLMHead(token_embedding=embedding)
    logits = np.asarray(head(SEQUENCE, POSITIONS))
    assert any(weight is embedding.embeddings for weight in head.trainable_weights)
    changed = SEQUENCE.copy()
    changed[0, 2] += 10.0  # an unmasked position
    np.testing.assert_array_equal(np.asarray(head(changed, POSITIONS)), logits)
    gathered = SEQUENCE[np.arange(2)[:, None], POSITIONS]
    transformed = np.asarray(head.transform_layer_norm(head.transform_dense(gathered)))
    expected = transformed @ np.asarray(embedding.embeddings).T + np.asarray(head.output_bias)
    np.testing.assert_allclose(logits, expected, atol=1e-5)


def test_vocabulary_mismatch_and_float_positions_are_rejected():
    with pytest.raises(ValueError, match="vocabulary_size"):
        MaskedLMHead(vocabulary_size=5, token_embedding=TokenEmbedding(20, 8))
    with pytest.raises(ValueError, match="mask_positions"):
        MaskedLMHead(vocabulary_size=5)(SEQUENCE, POSITIONS.astype("float32"))


@pytest.mark.parametrize("tied", [True, False], ids=["tied", "untied"])
def test_masked_lm_loss_equals_the_cross_entropy_of_the_logits_with_equal_gradients(tied):
    import keras
    import tensorflow as tf

    embedding = TokenEmbedding(vocabulary_size=20, hidden_dim=8)
    head = MaskedLMHead(token_embedding=embedding) if tied else MaskedLMHead(vocabulary_size=20)
    head(SEQUENCE, POSITIONS)
    head.output_bias.assign(np.random.default_rng(1).normal(size=(20,)).astype("float32"))
    labels = np.array([[3, 7], [1, 19]], "int32")
    weights = np.array([[1.0, 0.0], [1.0, 1.0]], "float32")

    def loss_and_gradients(loss_function):
        with tf.GradientTape() as tape:
            loss = loss_function()
        gradients = tape.gradient(loss, head.trainable_weights)
        return [float(loss)] + [np.asarray(tf.convert_to_tensor(g)) for g in gradients]

    def plain():
        per_position = keras.losses.sparse_categorical_crossentropy(labels, head(SEQUENCE, POSITIONS), from_logits=True)
        return tf.reduce_sum(per_position * weights) / (weights.sum() + 1e-5)

    def fused():
        return head.masked_lm_loss(SEQUENCE, labels, weights, mask_positions=POSITIONS)

    for actual, expected in zip(loss_and_gradients(fused), loss_and_gradients(plain)):
        np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_features_feed_logits_and_the_fused_loss_like_the_whole_head():
    embedding = TokenEmbedding(vocabulary_size=20, hidden_dim=8)
    head = MaskedLMHead(token_embedding=embedding)
    logits = np.asarray(head(SEQUENCE, POSITIONS))
    labels = logits.argmax(-1).astype("int32")
    labels[1, 0] = (labels[1, 0] + 1) % 20  # one wrong of the three weighted predictions
    weights = np.array([[1.0, 1.0], [1.0, 0.0]], "float32")
    features = head(SEQUENCE, POSITIONS, return_features=True)
    assert tuple(features.shape) == (2, 2, 8)
    np.testing.assert_allclose(np.asarray(head.logits(features)), logits, atol=1e-6)
    loss, accuracy = head.features_loss(features, labels, weights, return_accuracy=True)
    np.testing.assert_allclose(
        float(loss), float(head.masked_lm_loss(SEQUENCE, labels, weights, mask_positions=POSITIONS)), rtol=1e-6
    )
    np.testing.assert_allclose(float(accuracy), 2 / 3, atol=1e-4)
