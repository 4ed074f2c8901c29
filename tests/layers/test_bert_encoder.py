import numpy as np
import pytest

from layers import BACKBONE_SIZES, BertEncoder

CONFIG = dict(vocabulary_size=30, num_layers=2, num_heads=2, hidden_dim=8, intermediate_dim=16, max_sequence_length=12)
PADDING_MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], "int32")
INPUTS = {
    "token_ids": np.array([[2, 7, 9, 3, 11, 3], [2, 5, 3, 0, 0, 0]], "int32"),
    "segment_ids": np.array([[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]], "int32"),
    "padding_mask": PADDING_MASK,
}


def test_changing_padded_tokens_never_changes_real_outputs():
    encoder = BertEncoder(**CONFIG)
    outputs = encoder(INPUTS, training=False)
    changed = dict(INPUTS, token_ids=INPUTS["token_ids"].copy(), segment_ids=INPUTS["segment_ids"].copy())
    changed["token_ids"][1, 3:] = [17, 18, 19]
    changed["segment_ids"][1, 3:] = 1
    changed_outputs = encoder(changed, training=False)
    real = PADDING_MASK.astype(bool)
    np.testing.assert_allclose(
        np.asarray(changed_outputs["sequence_output"])[real], np.asarray(outputs["sequence_output"])[real], atol=1e-5
    )
    np.testing.assert_allclose(changed_outputs["pooled_output"], outputs["pooled_output"], atol=1e-5)
    assert not np.allclose(np.asarray(changed_outputs["sequence_output"])[~real], np.asarray(outputs["sequence_output"])[~real])


def test_config_round_trip_and_tied_embedding_attribute():
    encoder = BertEncoder(**CONFIG)
    rebuilt = BertEncoder.from_config(encoder.get_config())
    assert rebuilt.get_config() == encoder.get_config()
    assert tuple(encoder.token_embedding.embeddings.shape) == (30, 8)
    assert any(weight is encoder.token_embedding.embeddings for weight in encoder.weights)


def test_dropout_is_active_only_in_training():
    encoder = BertEncoder(**CONFIG, dropout=0.3)
    inference = encoder(INPUTS, training=False)["sequence_output"]
    np.testing.assert_array_equal(encoder(INPUTS, training=False)["sequence_output"], inference)
    assert not np.allclose(encoder(INPUTS, training=True)["sequence_output"], inference)


def test_named_sizes():
    assert BACKBONE_SIZES["mini"] == {"num_layers": 4, "hidden_dim": 256, "num_heads": 4, "intermediate_dim": 1024}
    assert BACKBONE_SIZES["base"] == {"num_layers": 12, "hidden_dim": 768, "num_heads": 12, "intermediate_dim": 3072}
    encoder = BertEncoder.from_size("tiny", vocabulary_size=30, max_sequence_length=16, num_layers=1)
    assert (encoder.num_layers, encoder.hidden_dim, encoder.num_heads, encoder.intermediate_dim) == (1, 128, 2, 512)
    with pytest.raises(ValueError, match="size"):
        BertEncoder.from_size("huge", vocabulary_size=30)


@pytest.mark.parametrize(
    "overrides, argument",
    [
        ({"hidden_dim": 10, "num_heads": 3}, "hidden_dim"),
        ({"num_layers": 0}, "num_layers"),
        ({"vocabulary_size": None}, "vocabulary_size"),
        ({"dropout": 1.5}, "dropout"),
    ],
)
def test_bad_configs_name_the_argument(overrides, argument):
    with pytest.raises(ValueError, match=argument):
        BertEncoder(**{**CONFIG, **overrides})


@pytest.mark.parametrize(
    "change, argument",
    [
        ({"token_ids": np.zeros((2, 6), "float32")}, "token_ids"),
        ({"segment_ids": np.zeros((2, 6, 1), "int32")}, "segment_ids"),
        ({"token_ids": np.zeros((2, 13), "int32")}, "max_sequence_length"),
    ],
)
def test_bad_inputs_name_the_argument(change, argument):
    encoder = BertEncoder(**CONFIG)
    with pytest.raises(ValueError, match=argument):
        encoder({**INPUTS, **change})
    with pytest.raises(ValueError, match="padding_mask"):
        encoder({"token_ids": INPUTS["token_ids"], "segment_ids": INPUTS["segment_ids"]})


def test_attention_dropout_round_trips_and_defaults_to_dropout():
    assert BertEncoder(**CONFIG).attention_dropout == 0.1  # BERT's recipe
    encoder = BertEncoder(**CONFIG, dropout=0.2, attention_dropout=0.0)
    assert [block.self_attention.dropout for block in encoder.transformer_layers] == [0.0, 0.0]
    assert encoder.embeddings_layer.dropout == 0.2
    config = encoder.get_config()
    assert config["attention_dropout"] == 0.0
    assert BertEncoder.from_config(config).get_config() == config


def test_config_saved_without_attention_dropout_loads():
    encoder = BertEncoder(**CONFIG, dropout=0.2)
    config = encoder.get_config()
    del config["attention_dropout"]
    old = BertEncoder.from_config(config)
    assert old.attention_dropout == 0.2
    assert [block.self_attention.dropout for block in old.transformer_layers] == [0.2, 0.2]
    old.set_weights(encoder.get_weights())
    np.testing.assert_allclose(
        old(INPUTS, training=False)["sequence_output"], encoder(INPUTS, training=False)["sequence_output"], atol=1e-6
    )


def test_pre_layer_norm_encoder_normalises_its_output_and_round_trips():
    encoder = BertEncoder(**CONFIG, normalize_first=True)
    assert all(block.normalize_first for block in encoder.transformer_layers)
    outputs = np.asarray(encoder(INPUTS, training=False)["sequence_output"])
    # The final LayerNorm (gamma 1, beta 0 at init): every row has mean 0 and variance 1.
    np.testing.assert_allclose(outputs.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(outputs.var(-1), 1.0, atol=1e-3)
    rebuilt = BertEncoder.from_config(encoder.get_config())
    assert rebuilt.get_config()["normalize_first"] is True
    rebuilt.set_weights(encoder.get_weights())
    np.testing.assert_allclose(rebuilt(INPUTS, training=False)["sequence_output"], outputs, atol=1e-6)
    post = BertEncoder(**CONFIG)
    assert post.final_layer_norm is None and len(encoder.weights) == len(post.weights) + 2


def test_pre_layer_norm_encoder_at_positions_equals_the_full_pass():
    encoder = BertEncoder(**CONFIG, normalize_first=True)
    positions = np.array([[1, 4], [0, 2]], "int32")
    full = np.asarray(encoder(INPUTS, training=False)["sequence_output"])
    sparse = encoder.call_at_positions(INPUTS, positions, training=False)
    np.testing.assert_allclose(
        np.asarray(sparse["sequence_output"]), full[np.arange(2)[:, None], positions], atol=1e-5
    )
