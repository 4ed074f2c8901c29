"""Parity with keras-hub: copy keras-hub's weights into our layers and compare outputs.

Tiny configs, float32, inference mode (dropout off), padded batches; the
tolerance is 1e-5 max absolute difference. Each test runs with our attention's
explicit path and with its fused path (`keras.ops.dot_product_attention`).
"""

import keras
import keras_hub
import numpy as np
import pytest

from layers import BertEncoder, GptDecoder, TransformerDecoderBlock, TransformerEncoderBlock

TOLERANCE = 1e-5
VOCABULARY_SIZE = 50
HIDDEN_DIM = 16
NUM_HEADS = 2
INTERMEDIATE_DIM = 32


def copy_attention(ours, theirs):
    ours.query_kernel.assign(theirs._query_dense.kernel)
    ours.query_bias.assign(theirs._query_dense.bias)
    ours.key_kernel.assign(theirs._key_dense.kernel)
    ours.key_bias.assign(theirs._key_dense.bias)
    ours.value_kernel.assign(theirs._value_dense.kernel)
    ours.value_bias.assign(theirs._value_dense.bias)
    ours.output_kernel.assign(theirs._output_dense.kernel)
    ours.output_bias.assign(theirs._output_dense.bias)


def copy_layer(ours, theirs):
    """Copy a Dense or LayerNormalization layer's variables in order."""
    assert len(ours.weights) == len(theirs.weights)
    for our_weight, their_weight in zip(ours.weights, theirs.weights):
        our_weight.assign(their_weight)


def copy_block(ours, theirs):
    """keras-hub TransformerEncoder/TransformerDecoder -> our block."""
    copy_attention(ours.self_attention, theirs._self_attention_layer)
    copy_layer(ours.self_attention_layer_norm, theirs._self_attention_layer_norm)
    if getattr(theirs, "_cross_attention_layer", None) is not None:
        copy_attention(ours.cross_attention, theirs._cross_attention_layer)
        copy_layer(ours.cross_attention_layer_norm, theirs._cross_attention_layer_norm)
    copy_layer(ours.feed_forward.intermediate_dense, theirs._feedforward_intermediate_dense)
    copy_layer(ours.feed_forward.output_dense, theirs._feedforward_output_dense)
    copy_layer(ours.feed_forward_layer_norm, theirs._feedforward_layer_norm)


def set_fused_attention(blocks, fused_attention):
    """Make every attention layer of our (built) blocks take the explicit or the fused path."""
    for block in blocks:
        for attention in (block.self_attention, getattr(block, "cross_attention", None)):
            if attention is not None:
                attention.fused_attention = fused_attention


FUSED = pytest.mark.parametrize("fused_attention", [False, True], ids=["explicit", "fused"])


def padded_batch(rng, batch=3, length=10):
    lengths = np.array([length, length - 3, 2])[:batch]
    padding_mask = (np.arange(length)[None, :] < lengths[:, None]).astype("int32")
    token_ids = rng.integers(1, VOCABULARY_SIZE, size=(batch, length)).astype("int32") * padding_mask
    return token_ids, padding_mask


def max_difference_at_real_positions(ours, theirs, padding_mask):
    difference = np.abs(np.asarray(ours) - np.asarray(theirs))
    return float(difference[padding_mask.astype(bool)].max())


@FUSED
def test_encoder_block_parity(fused_attention):
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(3, 10, HIDDEN_DIM)).astype("float32")
    _, padding_mask = padded_batch(rng)
    for normalize_first in (False, True):
        theirs = keras_hub.layers.TransformerEncoder(
            INTERMEDIATE_DIM,
            NUM_HEADS,
            activation=lambda x: keras.activations.gelu(x, approximate=True),
            layer_norm_epsilon=1e-12,
            normalize_first=normalize_first,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.3),
            bias_initializer=keras.initializers.RandomNormal(stddev=0.3),
        )
        ours = TransformerEncoderBlock(
            NUM_HEADS,
            INTERMEDIATE_DIM,
            activation="gelu_approximate",
            layer_norm_epsilon=1e-12,
            normalize_first=normalize_first,
        )
        expected = theirs(inputs, padding_mask=padding_mask)
        ours(inputs)
        copy_block(ours, theirs)
        set_fused_attention([ours], fused_attention)
        actual = ours(inputs, padding_mask=padding_mask)
        assert np.abs(np.asarray(actual) - np.asarray(expected)).max() <= TOLERANCE


@FUSED
def test_decoder_block_parity_with_cross_attention(fused_attention):
    rng = np.random.default_rng(1)
    target = rng.normal(size=(3, 10, HIDDEN_DIM)).astype("float32")
    source = rng.normal(size=(3, 7, HIDDEN_DIM)).astype("float32")
    _, decoder_padding_mask = padded_batch(rng)
    encoder_padding_mask = (np.arange(7)[None, :] < np.array([[7], [4], [1]])).astype("int32")
    for normalize_first in (False, True):
        theirs = keras_hub.layers.TransformerDecoder(
            INTERMEDIATE_DIM,
            NUM_HEADS,
            activation="relu",
            normalize_first=normalize_first,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.3),
            bias_initializer=keras.initializers.RandomNormal(stddev=0.3),
        )
        ours = TransformerDecoderBlock(
            NUM_HEADS,
            INTERMEDIATE_DIM,
            activation="relu",
            normalize_first=normalize_first,
            use_cross_attention=True,
        )
        expected = theirs(
            target,
            source,
            decoder_padding_mask=decoder_padding_mask,
            encoder_padding_mask=encoder_padding_mask,
        )
        ours(target, encoder_sequence=source)
        copy_block(ours, theirs)
        set_fused_attention([ours], fused_attention)
        actual = ours(
            target,
            encoder_sequence=source,
            decoder_padding_mask=decoder_padding_mask,
            encoder_padding_mask=encoder_padding_mask,
        )
        assert np.abs(np.asarray(actual) - np.asarray(expected)).max() <= TOLERANCE


@FUSED
def test_decoder_block_parity_without_cross_attention(fused_attention):
    rng = np.random.default_rng(2)
    target = rng.normal(size=(3, 10, HIDDEN_DIM)).astype("float32")
    _, padding_mask = padded_batch(rng)
    theirs = keras_hub.layers.TransformerDecoder(
        INTERMEDIATE_DIM,
        NUM_HEADS,
        normalize_first=True,
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.3),
        bias_initializer=keras.initializers.RandomNormal(stddev=0.3),
    )
    ours = TransformerDecoderBlock(NUM_HEADS, INTERMEDIATE_DIM, activation="relu", normalize_first=True)
    expected = theirs(target, decoder_padding_mask=padding_mask)
    ours(target)
    copy_block(ours, theirs)
    set_fused_attention([ours], fused_attention)
    actual = ours(target, decoder_padding_mask=padding_mask)
    assert np.abs(np.asarray(actual) - np.asarray(expected)).max() <= TOLERANCE


def randomize(model, rng):
    """Replace every weight (LayerNorm and biases included) by noise, so parity covers them."""
    for weight in model.weights:
        weight.assign(rng.normal(scale=0.2, size=weight.shape).astype("float32"))


@FUSED
def test_bert_encoder_parity(fused_attention):
    rng = np.random.default_rng(3)
    config = dict(
        vocabulary_size=VOCABULARY_SIZE,
        num_layers=2,
        num_heads=NUM_HEADS,
        hidden_dim=HIDDEN_DIM,
        intermediate_dim=INTERMEDIATE_DIM,
        max_sequence_length=12,
    )
    theirs = keras_hub.models.BertBackbone(**config, num_segments=2)
    randomize(theirs, rng)
    ours = BertEncoder(**config, num_segments=2)
    ours.token_embedding.embeddings.assign(theirs.token_embedding.embeddings)
    ours.embeddings_layer.position_embedding.position_embeddings.assign(
        theirs.position_embedding.position_embeddings
    )
    ours.embeddings_layer.segment_embedding.embeddings.assign(theirs.segment_embedding.embeddings)
    copy_layer(ours.embeddings_layer.layer_norm, theirs.embeddings_layer_norm)
    for our_block, their_block in zip(ours.transformer_layers, theirs.transformer_layers):
        copy_block(our_block, their_block)
    copy_layer(ours.pooled_dense, theirs.pooled_dense)
    set_fused_attention(ours.transformer_layers, fused_attention)
    assert ours.count_params() == theirs.count_params()

    token_ids, padding_mask = padded_batch(rng)
    segment_ids = (np.arange(10)[None, :] >= 4).astype("int32") * padding_mask
    inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
    expected = theirs(inputs, training=False)
    actual = ours(inputs, training=False)
    assert max_difference_at_real_positions(
        actual["sequence_output"], expected["sequence_output"], padding_mask
    ) <= TOLERANCE
    assert np.abs(np.asarray(actual["pooled_output"]) - np.asarray(expected["pooled_output"])).max() <= TOLERANCE


@FUSED
def test_gpt_decoder_parity(fused_attention):
    rng = np.random.default_rng(4)
    config = dict(
        vocabulary_size=VOCABULARY_SIZE,
        num_layers=2,
        num_heads=NUM_HEADS,
        hidden_dim=HIDDEN_DIM,
        intermediate_dim=INTERMEDIATE_DIM,
        max_sequence_length=12,
    )
    theirs = keras_hub.models.GPT2Backbone(**config)
    randomize(theirs, rng)
    ours = GptDecoder(**config)
    ours.token_embedding.embeddings.assign(theirs.token_embedding.embeddings)
    ours.position_embedding.position_embeddings.assign(theirs.position_embedding.position_embeddings)
    for our_block, their_block in zip(ours.transformer_layers, theirs.transformer_layers):
        copy_block(our_block, their_block)
    copy_layer(ours.layer_norm, theirs.layer_norm)
    set_fused_attention(ours.transformer_layers, fused_attention)
    assert ours.count_params() == theirs.count_params()

    token_ids, padding_mask = padded_batch(rng)
    inputs = {"token_ids": token_ids, "padding_mask": padding_mask}
    expected = theirs(inputs, training=False)
    actual = ours(inputs, training=False)
    assert max_difference_at_real_positions(actual, expected, padding_mask) <= TOLERANCE
    their_logits = theirs.token_embedding(expected, reverse=True)
    assert max_difference_at_real_positions(ours.logits(actual), their_logits, padding_mask) <= TOLERANCE
