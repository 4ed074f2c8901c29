import numpy as np
import pytest

from layers import TransformerDecoderBlock
from tests.helpers.layer_testing import run_layer_test

RNG = np.random.default_rng(0)
TARGET = RNG.normal(size=(2, 5, 8)).astype("float32")
SOURCE = RNG.normal(size=(2, 4, 8)).astype("float32")


def test_transformer_decoder_block_layer():
    run_layer_test(
        TransformerDecoderBlock,
        {"num_heads": 2, "intermediate_dim": 16, "dropout": 0.1, "normalize_first": True},
        {"decoder_sequence": TARGET, "decoder_padding_mask": np.ones((2, 5), "int32")},
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=16,
    )


def test_transformer_decoder_block_layer_with_cross_attention():
    run_layer_test(
        TransformerDecoderBlock,
        {"num_heads": 2, "intermediate_dim": 16, "use_cross_attention": True},
        {
            "decoder_sequence": TARGET,
            "encoder_sequence": SOURCE,
            "encoder_padding_mask": np.array([[1, 1, 0, 0], [1, 1, 1, 1]], "int32"),
        },
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=26,
    )


def test_output_never_depends_on_later_inputs():
    block = TransformerDecoderBlock(num_heads=2, intermediate_dim=16, use_cross_attention=True)
    output = np.asarray(block(TARGET, encoder_sequence=SOURCE))
    for position in range(4):
        changed = TARGET.copy()
        changed[:, position + 1 :] += 5.0
        changed_output = np.asarray(block(changed, encoder_sequence=SOURCE))
        np.testing.assert_allclose(changed_output[:, : position + 1], output[:, : position + 1], atol=1e-5)
        assert not np.allclose(changed_output[:, position + 1 :], output[:, position + 1 :])


def test_cached_decoding_matches_full_call_with_cross_attention():
    block = TransformerDecoderBlock(num_heads=2, intermediate_dim=16, use_cross_attention=True)
    full = np.asarray(block(TARGET, encoder_sequence=SOURCE))
    cache = np.zeros((2, 2, 5, 2, 4), "float32")
    steps = []
    for index in range(5):
        step, cache = block(
            TARGET[:, index : index + 1],
            encoder_sequence=SOURCE,
            self_attention_cache=cache,
            cache_update_index=index,
        )
        steps.append(np.asarray(step))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_encoder_sequence_must_match_construction():
    with pytest.raises(ValueError, match="use_cross_attention"):
        TransformerDecoderBlock(num_heads=2, intermediate_dim=16)(TARGET, encoder_sequence=SOURCE)
    with pytest.raises(ValueError, match="encoder_sequence"):
        TransformerDecoderBlock(num_heads=2, intermediate_dim=16, use_cross_attention=True)(TARGET)


def test_attention_dropout_reaches_both_attentions_and_round_trips():
    block = TransformerDecoderBlock(
        num_heads=2, intermediate_dim=16, dropout=0.2, attention_dropout=0.0, use_cross_attention=True
    )
    block(TARGET, encoder_sequence=SOURCE)
    assert block.self_attention.dropout == 0.0 and block.cross_attention.dropout == 0.0
    assert block.self_attention_dropout.rate == 0.2
    config = block.get_config()
    assert TransformerDecoderBlock.from_config(config).get_config() == config
    del config["attention_dropout"]  # saved before the option existed
    old = TransformerDecoderBlock.from_config(config)
    old(TARGET, encoder_sequence=SOURCE)
    assert old.self_attention.dropout == 0.2 and old.cross_attention.dropout == 0.2
    with pytest.raises(ValueError, match="attention_dropout"):
        TransformerDecoderBlock(num_heads=2, intermediate_dim=16, attention_dropout=-0.1)
