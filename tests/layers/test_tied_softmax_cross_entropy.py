import keras
import numpy as np
import pytest
import tensorflow as tf

from layers import GptDecoder
from layers.tied_softmax_cross_entropy import tied_softmax_cross_entropy

RNG = np.random.default_rng(0)
HIDDEN = RNG.normal(size=(5, 8, 16)).astype("float32")  # 40 rows
EMBEDDINGS = (0.5 * RNG.normal(size=(50, 16))).astype("float32")
LABELS = RNG.integers(0, 50, size=(5, 8)).astype("int32")
WEIGHTS = RNG.integers(0, 2, size=(5, 8)).astype("float32")


def loss_and_gradients(loss_function, hidden, embeddings, labels, weights):
    hidden = tf.constant(hidden)
    embeddings = tf.Variable(embeddings)
    with tf.GradientTape() as tape:
        tape.watch(hidden)
        loss = loss_function(hidden, embeddings, labels, weights)
    hidden_gradient, embeddings_gradient = tape.gradient(loss, [hidden, embeddings])
    return float(loss), np.asarray(hidden_gradient), np.asarray(tf.convert_to_tensor(embeddings_gradient))


def plain_loss(hidden, embeddings, labels, weights):
    logits = tf.matmul(hidden, embeddings, transpose_b=True)
    per_token = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    weights = tf.ones_like(per_token) if weights is None else weights
    return tf.reduce_sum(per_token * weights) / (tf.reduce_sum(weights) + 1e-5)


@pytest.mark.parametrize("chunk_size", [7, 16, 40, 64])  # uneven, even, one chunk, larger than the rows
@pytest.mark.parametrize("weights", [None, WEIGHTS], ids=["unweighted", "weighted"])
def test_loss_and_gradients_equal_plain_sparse_cross_entropy(chunk_size, weights):
    def fused(hidden, embeddings, labels, weights):
        return tied_softmax_cross_entropy(hidden, embeddings, labels, weights, chunk_size=chunk_size)

    expected = loss_and_gradients(plain_loss, HIDDEN, EMBEDDINGS, LABELS, weights)
    actual = loss_and_gradients(fused, HIDDEN, EMBEDDINGS, LABELS, weights)
    np.testing.assert_allclose(actual[0], expected[0], atol=1e-5, rtol=1e-6)
    np.testing.assert_allclose(actual[1], expected[1], atol=1e-5)
    np.testing.assert_allclose(actual[2], expected[2], atol=1e-5)


def test_equal_inside_a_traced_function_with_unknown_batch_size():
    signature = [tf.TensorSpec((None, 8, 16)), tf.TensorSpec((None, 8), tf.int32)]
    embeddings = tf.Variable(EMBEDDINGS)

    @tf.function(input_signature=signature)
    def fused_gradient(hidden, labels):
        with tf.GradientTape() as tape:
            tape.watch(hidden)
            loss = tied_softmax_cross_entropy(hidden, embeddings, labels, chunk_size=16)
        return loss, tape.gradient(loss, hidden)

    loss, hidden_gradient = fused_gradient(HIDDEN, LABELS)
    expected = loss_and_gradients(plain_loss, HIDDEN, EMBEDDINGS, LABELS, None)
    np.testing.assert_allclose(float(loss), expected[0], atol=1e-5)
    np.testing.assert_allclose(np.asarray(hidden_gradient), expected[1], atol=1e-5)


def test_gpt_language_model_loss_equals_the_loss_of_its_logits():
    decoder = GptDecoder.from_size("tiny", vocabulary_size=50, max_sequence_length=8)
    hidden = decoder({"token_ids": LABELS, "padding_mask": np.ones_like(LABELS)})
    expected = plain_loss(decoder.logits(hidden), tf.eye(50), LABELS, WEIGHTS)
    np.testing.assert_allclose(
        float(decoder.language_model_loss(hidden, LABELS, WEIGHTS)), float(expected), atol=1e-5
    )


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="chunk_size"):
        tied_softmax_cross_entropy(HIDDEN, EMBEDDINGS, LABELS, chunk_size=0)
    with pytest.raises(ValueError, match="labels"):
        tied_softmax_cross_entropy(HIDDEN, EMBEDDINGS, LABELS.astype("float32"))


@pytest.mark.parametrize("chunk_size", [16, 64])
def test_bias_is_added_to_the_logits_and_gets_its_gradient(chunk_size):
    bias = tf.Variable(RNG.normal(size=(50,)).astype("float32"))
    hidden = tf.constant(HIDDEN)
    embeddings = tf.Variable(EMBEDDINGS)

    def gradients(loss_function):
        with tf.GradientTape() as tape:
            tape.watch(hidden)
            loss = loss_function()
        return [float(loss)] + [np.asarray(tf.convert_to_tensor(g)) for g in tape.gradient(loss, [hidden, embeddings, bias])]

    def plain():
        logits = tf.matmul(hidden, embeddings, transpose_b=True) + bias
        return plain_loss(logits, tf.eye(50), LABELS, WEIGHTS)

    def fused():
        return tied_softmax_cross_entropy(hidden, embeddings, LABELS, WEIGHTS, chunk_size=chunk_size, bias=bias)

    for actual, expected in zip(gradients(fused), gradients(plain)):
        np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_stable_when_logits_span_hundreds():
    hidden = 300.0 * HIDDEN  # logits far beyond exp's float32 range
    expected = loss_and_gradients(plain_loss, hidden, EMBEDDINGS, LABELS, WEIGHTS)
    actual = loss_and_gradients(tied_softmax_cross_entropy, hidden, EMBEDDINGS, LABELS, WEIGHTS)
    np.testing.assert_allclose(actual[0], expected[0], rtol=1e-5)
    np.testing.assert_allclose(actual[1], expected[1], atol=1e-5)
    np.testing.assert_allclose(actual[2], expected[2], atol=1e-4)
