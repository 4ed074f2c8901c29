import numpy as np
import pytest

from layers import MultiHeadAttention
from tests.helpers.layer_testing import run_layer_test

RNG = np.random.default_rng(0)
QUERY = RNG.normal(size=(2, 5, 8)).astype("float32")
SOURCE = RNG.normal(size=(2, 4, 6)).astype("float32")


def test_self_attention_layer():
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": 2, "key_dim": 4, "dropout": 0.1},
        {"query": QUERY, "padding_mask": np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], "int32")},
        call_kwargs={"use_causal_mask": True},
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=8,
    )


def test_cross_attention_layer():
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": 2, "key_dim": 3},
        {"query": QUERY, "value": SOURCE, "attention_mask": np.ones((2, 5, 4), "int32")},
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=8,
    )


def reference_attention(layer, query, value, mask):
    """Plain numpy multi-head attention with a boolean [B, T, S] mask."""
    weights = {weight.path.split("/")[-1]: np.asarray(weight) for weight in layer.weights}
    project = lambda x, name: np.einsum("bth,hnd->btnd", x, weights[f"{name}_kernel"]) + weights[f"{name}_bias"]
    q, k, v = project(query, "query"), project(value, "key"), project(value, "value")
    scores = np.einsum("btnd,bsnd->bnts", q, k) / np.sqrt(q.shape[-1])
    scores = np.where(mask[:, None], scores, -1e9)
    probabilities = np.exp(scores - scores.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    attended = np.einsum("bnts,bsnd->btnd", probabilities, v)
    return np.einsum("btnd,ndh->bth", attended, weights["output_kernel"]) + weights["output_bias"]


def test_combined_masks_match_numpy_reference():
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    padding_mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    explicit = RNG.random((2, 5, 5)) > 0.3
    explicit[:, :, 0] = True  # every query keeps at least one key
    output = np.asarray(
        layer(QUERY, padding_mask=padding_mask, attention_mask=explicit, use_causal_mask=True)
    )
    causal = np.tril(np.ones((5, 5), bool))
    expected = reference_attention(layer, QUERY, QUERY, padding_mask[:, None, :] & explicit & causal)
    np.testing.assert_allclose(output, expected, atol=1e-5)


def test_attention_dropout_only_in_training():
    layer = MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.5)
    inference = np.asarray(layer(QUERY, training=False))
    expected = reference_attention(layer, QUERY, QUERY, np.ones((2, 5, 5), bool))
    np.testing.assert_allclose(inference, expected, atol=1e-5)
    assert not np.allclose(np.asarray(layer(QUERY, training=True)), inference)


def test_cache_returns_same_output_as_full_call():
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    full = np.asarray(layer(QUERY, use_causal_mask=True))
    cache = np.zeros((2, 2, 5, 2, 4), "float32")
    outputs = []
    for index in range(5):
        step, cache = layer(
            QUERY[:, index : index + 1], use_causal_mask=True, cache=cache, cache_update_index=index
        )
        outputs.append(np.asarray(step))
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), full, atol=1e-5)


def test_bad_masks_and_arguments_are_rejected():
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    with pytest.raises(ValueError, match="padding_mask"):
        layer(QUERY, padding_mask=np.ones((2, 5, 5)))
    with pytest.raises(ValueError, match="attention_mask"):
        layer(QUERY, attention_mask=np.ones((2, 5)))
    with pytest.raises(ValueError, match="cache_update_index"):
        layer(QUERY, cache=np.zeros((2, 2, 5, 2, 4), "float32"))
    with pytest.raises(ValueError, match="num_heads"):
        MultiHeadAttention(num_heads=0, key_dim=4)
