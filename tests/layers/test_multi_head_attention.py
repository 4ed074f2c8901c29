import keras
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


def twin_layers(**kwargs):
    """An explicit-path and a fused-path layer with the same (random, biases included) weights."""
    value_shape = kwargs.pop("value_shape", None)
    explicit = MultiHeadAttention(num_heads=2, key_dim=4, fused_attention=False, **kwargs)
    fused = MultiHeadAttention(num_heads=2, key_dim=4, fused_attention=True, **kwargs)
    for layer in (explicit, fused):
        layer.build(QUERY.shape, value_shape)
    explicit.set_weights([RNG.normal(scale=0.5, size=w.shape).astype("float32") for w in explicit.weights])
    fused.set_weights(explicit.get_weights())
    return explicit, fused


def prefix_lm_mask(batch, length, prefix_lengths):
    """UniLM seq2seq-style mask: the prefix sees itself, every later query sees the prefix and its own past."""
    query, key = np.arange(length)[:, None], np.arange(length)[None, :]
    return np.stack([(key < prefix) | (key <= query) for prefix in prefix_lengths])  # (B, T, S)


PADDING = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
MASK_KINDS = {
    "none": {},
    "padding": {"padding_mask": PADDING},
    "causal": {"use_causal_mask": True},
    "padding and causal": {"padding_mask": PADDING, "use_causal_mask": True},
    "custom (UniLM prefix)": {"attention_mask": prefix_lm_mask(2, 5, [2, 4])},
    "custom, padding and causal": {
        "attention_mask": RNG.random((2, 5, 5)) > 0.4,
        "padding_mask": PADDING,
        "use_causal_mask": True,
    },
    # A query row whose keys are all masked: both paths average the values uniformly.
    "a fully masked query row": {"attention_mask": np.tril(np.ones((2, 5, 5), bool), -1)},
}


@pytest.mark.parametrize("kind", sorted(MASK_KINDS))
def test_fused_path_equals_explicit_path(kind):
    explicit, fused = twin_layers()
    masks = MASK_KINDS[kind]
    assert fused.uses_fused_attention(training=False) and not explicit.uses_fused_attention(training=False)
    expected = np.asarray(explicit(QUERY, **masks))
    np.testing.assert_allclose(np.asarray(fused(QUERY, **masks)), expected, atol=1e-5)
    # The same masks in a different combination give a different output, so the comparison can fail.
    if masks:
        assert not np.allclose(np.asarray(fused(QUERY)), expected, atol=1e-3)


def test_fused_path_equals_explicit_path_in_cross_attention_and_at_query_subsets():
    explicit, fused = twin_layers(value_shape=SOURCE.shape)
    source_padding = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    expected = np.asarray(explicit(QUERY, SOURCE, padding_mask=source_padding))
    np.testing.assert_allclose(np.asarray(fused(QUERY, SOURCE, padding_mask=source_padding)), expected, atol=1e-5)
    # Fewer queries than keys (the last BERT block at the masked positions) with a causal mask: not `is_causal`.
    explicit, fused = twin_layers()
    expected = np.asarray(explicit(QUERY[:, 1:3], QUERY, use_causal_mask=True, padding_mask=PADDING))
    actual = np.asarray(fused(QUERY[:, 1:3], QUERY, use_causal_mask=True, padding_mask=PADDING))
    np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_fused_path_equals_explicit_path_with_a_key_value_cache():
    explicit, fused = twin_layers()
    full = np.asarray(explicit(QUERY, use_causal_mask=True))
    for layer in (explicit, fused):
        cache = np.zeros((2, 2, 7, 2, 4), "float32")  # longer than the sequence: unwritten slots stay hidden
        prompt, cache = layer(QUERY[:, :3], use_causal_mask=True, cache=cache, cache_update_index=0)
        steps = [np.asarray(prompt)]
        for index in range(3, 5):
            step, cache = layer(QUERY[:, index : index + 1], use_causal_mask=True, cache=cache, cache_update_index=index)
            steps.append(np.asarray(step))
        np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_fused_path_trains_like_the_explicit_path():
    explicit, fused = twin_layers()
    initial = explicit.get_weights()
    target = RNG.normal(size=(2, 5, 8)).astype("float32")
    weights = []
    for layer in (explicit, fused):
        inputs = keras.Input(shape=(5, 8))
        padding = keras.Input(shape=(5,), dtype="bool")
        model = keras.Model([inputs, padding], layer(inputs, padding_mask=padding, use_causal_mask=True))
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
        model.train_on_batch([QUERY, PADDING], target)
        weights.append(layer.get_weights())
    names = [weight.path.split("/")[-1] for weight in explicit.weights]
    for name, explicit_weight, fused_weight, before in zip(names, *weights, initial):
        # The key bias adds the same score to every key of a query: the softmax ignores it, no gradient.
        assert name == "key_bias" or not np.allclose(explicit_weight, before, atol=1e-4), name
        np.testing.assert_allclose(fused_weight, explicit_weight, atol=1e-5)


def test_attention_dropout_in_training_takes_the_explicit_path():
    layer = MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.5, fused_attention=True)
    assert layer.uses_fused_attention(training=False)
    assert not layer.uses_fused_attention(training=True)
    inference = np.asarray(layer(QUERY, training=False))
    assert not np.allclose(np.asarray(layer(QUERY, training=True)), inference)  # the dropout is applied
    assert MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.0, fused_attention=True).uses_fused_attention(True)
    # None picks per backend: TensorFlow keeps the explicit path (faster on CPU, docs/layers.md).
    automatic = MultiHeadAttention(num_heads=2, key_dim=4)
    assert automatic.uses_fused_attention(training=False) == (keras.backend.backend() != "tensorflow")
    with pytest.raises(ValueError, match="fused_attention"):
        MultiHeadAttention(num_heads=2, key_dim=4, fused_attention="yes")


def test_fused_path_under_mixed_bfloat16():
    explicit, fused = twin_layers()
    explicit_bf16 = MultiHeadAttention(num_heads=2, key_dim=4, fused_attention=False, dtype="mixed_bfloat16")
    fused_bf16 = MultiHeadAttention(num_heads=2, key_dim=4, fused_attention=True, dtype="mixed_bfloat16")
    reference = np.asarray(explicit(QUERY, padding_mask=PADDING, use_causal_mask=True))
    for layer in (explicit_bf16, fused_bf16):
        layer.build(QUERY.shape)
        layer.set_weights(explicit.get_weights())
        output = layer(QUERY, padding_mask=PADDING, use_causal_mask=True)
        assert keras.backend.standardize_dtype(output.dtype) == "bfloat16"
        assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in layer.weights)
        np.testing.assert_allclose(np.asarray(keras.ops.cast(output, "float32")), reference, atol=0.1, rtol=0.05)


def test_old_config_without_fused_attention_loads():
    config = MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1).get_config()
    assert config["fused_attention"] is None
    del config["fused_attention"]
    layer = MultiHeadAttention.from_config(config)
    assert layer.fused_attention is None and layer.dropout == 0.1
