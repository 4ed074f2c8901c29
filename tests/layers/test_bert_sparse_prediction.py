import numpy as np
import tensorflow as tf

from layers import BertEncoder, MaskedLMHead, TransformerEncoderBlock

RNG = np.random.default_rng(0)
TOKEN_IDS = RNG.integers(5, 60, size=(3, 10)).astype("int32")
PADDING_MASK = np.array([[1] * 10, [1] * 7 + [0] * 3, [1] * 4 + [0] * 6], "int32")
INPUTS = {"token_ids": TOKEN_IDS, "segment_ids": np.zeros_like(TOKEN_IDS), "padding_mask": PADDING_MASK}
POSITIONS = np.array([[1, 4, 9], [0, 2, 6], [3, 1, 2]], "int32")


def gathered(x, positions):
    return np.asarray(x)[np.arange(len(positions))[:, None], positions]


def test_encoder_at_positions_equals_the_full_pass_gathered():
    encoder = BertEncoder.from_size("tiny", vocabulary_size=60, max_sequence_length=16)
    full = encoder(INPUTS)
    sparse = encoder.call_at_positions(INPUTS, POSITIONS)
    assert tuple(sparse["sequence_output"].shape) == (3, 3, 128)
    np.testing.assert_allclose(
        np.asarray(sparse["sequence_output"]), gathered(full["sequence_output"], POSITIONS), atol=1e-5
    )
    np.testing.assert_allclose(np.asarray(sparse["pooled_output"]), np.asarray(full["pooled_output"]), atol=1e-5)


def test_masked_lm_logits_and_gradients_equal_the_full_pass():
    encoder = BertEncoder.from_size("tiny", vocabulary_size=60, max_sequence_length=16)
    head = MaskedLMHead(token_embedding=encoder.token_embedding)
    head(encoder(INPUTS)["sequence_output"], POSITIONS)
    variables = encoder.trainable_variables + head.trainable_variables[2:]  # head's own, not the tied embedding
    results = []
    for outputs_of, positions in (
        (lambda: encoder(INPUTS), POSITIONS),
        (lambda: encoder.call_at_positions(INPUTS, POSITIONS), None),
    ):
        with tf.GradientTape() as tape:
            outputs = outputs_of()
            logits = head(outputs["sequence_output"], positions)
            loss = tf.reduce_sum(tf.square(logits)) + tf.reduce_sum(outputs["pooled_output"])
        gradients = [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]
        results.append((np.asarray(logits), [np.asarray(g) for g in gradients]))
    (full_logits, full_gradients), (sparse_logits, sparse_gradients) = results
    np.testing.assert_allclose(sparse_logits, full_logits, atol=1e-5)
    for full_gradient, sparse_gradient in zip(full_gradients, sparse_gradients):
        np.testing.assert_allclose(sparse_gradient, full_gradient, atol=1e-4, rtol=1e-4)


def test_pre_layer_norm_block_with_attention_mask_at_query_positions():
    block = TransformerEncoderBlock(num_heads=2, intermediate_dim=16, normalize_first=True)
    x = RNG.normal(size=(3, 10, 8)).astype("float32")
    prefix_mask = np.tril(np.ones((10, 10), "int32"))[None].repeat(3, 0)
    full = block(x, padding_mask=PADDING_MASK, attention_mask=prefix_mask)
    sparse = block(x, padding_mask=PADDING_MASK, attention_mask=prefix_mask, query_positions=POSITIONS)
    np.testing.assert_allclose(np.asarray(sparse), gathered(full, POSITIONS), atol=1e-5)
