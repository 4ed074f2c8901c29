import numpy as np
import pytest

from layers import TransformerEncoderBlock
from tests.helpers.layer_testing import run_layer_test

INPUTS = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
PADDING_MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], "int32")


@pytest.mark.parametrize("normalize_first", [False, True])
def test_transformer_encoder_block_layer(normalize_first):
    run_layer_test(
        TransformerEncoderBlock,
        {"num_heads": 2, "intermediate_dim": 16, "dropout": 0.1, "normalize_first": normalize_first},
        {"inputs": INPUTS, "padding_mask": PADDING_MASK},
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=16,
    )


def test_padded_inputs_never_change_real_outputs():
    block = TransformerEncoderBlock(num_heads=2, intermediate_dim=16)
    output = np.asarray(block(INPUTS, padding_mask=PADDING_MASK))
    changed = INPUTS.copy()
    changed[0, 3:] = 100.0
    changed_output = np.asarray(block(changed, padding_mask=PADDING_MASK))
    np.testing.assert_allclose(changed_output[0, :3], output[0, :3], atol=1e-5)
    np.testing.assert_allclose(changed_output[1], output[1], atol=1e-5)
    assert not np.allclose(changed_output[0, 3:], output[0, 3:])


def test_hidden_dim_not_divisible_by_heads_is_rejected():
    with pytest.raises(ValueError, match="num_heads"):
        TransformerEncoderBlock(num_heads=3, intermediate_dim=16)(INPUTS)


def prefix_lm_mask(length, prefix_length):
    """UniLM prefix mask: the prefix sees itself both ways, later tokens see the prefix and earlier tokens."""
    visible = np.tril(np.ones((length, length), "int32"))
    visible[:, :prefix_length] = 1
    return visible


def test_explicit_prefix_mask_gives_the_intended_visibility():
    block = TransformerEncoderBlock(num_heads=2, intermediate_dim=16)
    mask = np.stack([prefix_lm_mask(5, 2)] * 2)
    output = np.asarray(block(INPUTS, attention_mask=mask))
    for position in range(5):
        changed = INPUTS.copy()
        changed[:, position] += 3.0
        changed_output = np.asarray(block(changed, attention_mask=mask))
        affected = ~np.isclose(changed_output, output, atol=1e-5).all(axis=(0, 2))
        # Token `position` is seen by every query whose mask row lets it through.
        np.testing.assert_array_equal(affected, mask[0][:, position].astype(bool) | (np.arange(5) == position))


def test_attention_dropout_round_trips_and_old_configs_keep_dropout():
    block = TransformerEncoderBlock(num_heads=2, intermediate_dim=16, dropout=0.3, attention_dropout=0.0)
    block(INPUTS)
    assert block.self_attention.dropout == 0.0 and block.self_attention_dropout.rate == 0.3
    config = block.get_config()
    assert config["attention_dropout"] == 0.0
    rebuilt = TransformerEncoderBlock.from_config(config)
    rebuilt(INPUTS)
    assert rebuilt.self_attention.dropout == 0.0 and rebuilt.get_config() == config
    # A config saved before the option: attention probabilities drop at `dropout`, as they did.
    del config["attention_dropout"]
    old = TransformerEncoderBlock.from_config(config)
    old(INPUTS)
    assert old.attention_dropout == 0.3 and old.self_attention.dropout == 0.3
    with pytest.raises(ValueError, match="attention_dropout"):
        TransformerEncoderBlock(num_heads=2, intermediate_dim=16, attention_dropout=1.0)


def test_attention_dropout_alone_changes_training_outputs():
    block = TransformerEncoderBlock(num_heads=2, intermediate_dim=16, dropout=0.0, attention_dropout=0.5)
    inference = np.asarray(block(INPUTS, training=False))
    assert not np.allclose(np.asarray(block(INPUTS, training=True)), inference)
    quiet = TransformerEncoderBlock(num_heads=2, intermediate_dim=16, dropout=0.0, attention_dropout=0.0)
    np.testing.assert_array_equal(quiet(INPUTS, training=True), quiet(INPUTS, training=False))
