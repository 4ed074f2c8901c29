import numpy as np
import pytest

from layers import AlibiBias, BertEncoder, MultiHeadAttention
from layers.alibi import alibi_bias, alibi_slopes

RNG = np.random.default_rng(0)


def test_slopes_span_one_half_to_one_over_256():
    assert alibi_slopes(8) == [2.0**-k for k in range(1, 9)]  # the paper's 8-head set
    assert alibi_slopes(2) == [0.5, 2.0**-8]  # a local head and a nearly global one
    slopes = alibi_slopes(12)
    assert slopes[0] == 0.5 and slopes[-1] == 2.0**-8 and slopes == sorted(slopes, reverse=True)
    assert alibi_slopes(1) == [2.0**-4.5]
    with pytest.raises(ValueError, match="num_heads"):
        alibi_slopes(0)


def test_bias_is_minus_slope_times_distance_and_rows_follow_query_positions():
    slopes = [0.5, 0.25]
    full = np.asarray(alibi_bias(np.arange(5)[None, :], 5, slopes))
    expected = -np.array(slopes)[:, None, None] * np.abs(np.arange(5)[:, None] - np.arange(5)[None, :])
    np.testing.assert_allclose(full[0], expected)
    positions = np.array([[0, 3], [4, 1]])
    rows = np.asarray(AlibiBias(num_heads=2)(np.zeros((2, 5, 4), "float32"), query_positions=positions))
    assert rows.shape == (2, 2, 2, 5)
    every_row = np.asarray(alibi_bias(np.arange(5)[None, :], 5, alibi_slopes(2)))[0]  # (N, T, S)
    np.testing.assert_allclose(rows, every_row[:, positions].transpose(1, 0, 2, 3))
    assert AlibiBias.from_config(AlibiBias(num_heads=3).get_config()).slopes == alibi_slopes(3)


@pytest.mark.parametrize("fused", [False, True])
def test_attention_bias_is_added_to_the_logits_on_both_paths(fused):
    query = RNG.normal(size=(2, 4, 8)).astype("float32")
    attention = MultiHeadAttention(num_heads=2, key_dim=4, fused_attention=fused)
    plain = np.asarray(attention(query))
    # A bias of -1e9 on a key is the same as masking it out.
    bias = np.zeros((1, 2, 4, 4), "float32")
    bias[..., 2] = -1e9
    masked = attention(query, attention_mask=np.array([[[1, 1, 0, 1]] * 4] * 2))
    np.testing.assert_allclose(attention(query, attention_bias=bias), masked, atol=1e-5)
    alibi = AlibiBias(num_heads=2)(query)
    with_alibi = np.asarray(attention(query, attention_bias=alibi))
    assert np.abs(with_alibi - plain).max() > 0.1 * np.abs(plain).max()
    explicit = MultiHeadAttention(num_heads=2, key_dim=4, fused_attention=not fused)
    explicit.build(query.shape)
    explicit.set_weights(attention.get_weights())
    np.testing.assert_allclose(
        explicit(query, attention_bias=alibi), attention(query, attention_bias=alibi), atol=1e-5
    )


def test_encoder_with_alibi_round_trips_and_matches_at_masked_positions():
    config = dict(vocabulary_size=40, num_layers=2, num_heads=2, hidden_dim=8, intermediate_dim=16,
                  max_sequence_length=16)
    inputs = {
        "token_ids": RNG.integers(5, 40, size=(2, 9)).astype("int32"),
        "segment_ids": np.zeros((2, 9), "int32"),
        "padding_mask": np.array([[1] * 9, [1] * 6 + [0] * 3], "int32"),
    }
    encoder = BertEncoder(**config, alibi=True)
    full = np.asarray(encoder(inputs)["sequence_output"])
    positions = np.array([[1, 5, 8], [0, 2, 4]], "int32")
    sparse = np.asarray(encoder.call_at_positions(inputs, positions)["sequence_output"])
    np.testing.assert_allclose(sparse, full[np.arange(2)[:, None], positions], atol=1e-5)
    rebuilt = BertEncoder.from_config(encoder.get_config())
    assert rebuilt.get_config()["alibi"] is True
    rebuilt.set_weights(encoder.get_weights())
    np.testing.assert_allclose(rebuilt(inputs)["sequence_output"], full, atol=1e-6)
    # Same weights without the biases: another function (the biases are not weights).
    plain = BertEncoder(**config)
    plain.set_weights(encoder.get_weights())
    assert np.abs(np.asarray(plain(inputs)["sequence_output"]) - full).max() > 1e-4  # at init, attention adds little
