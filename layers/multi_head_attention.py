"""Multi-head scaled dot-product attention with padding, causal and explicit masks and a key/value cache."""

import math

import keras
from keras import ops

from layers.initializers import truncated_normal


def resolve_attention_dropout(attention_dropout, dropout):
    """The attention-probability dropout of a block: `attention_dropout`, or `dropout` when it is None.

    None is also what a config saved before `attention_dropout` existed gives,
    so such a block keeps dropping its attention probabilities at `dropout`.
    """
    if attention_dropout is None:
        return dropout
    if isinstance(attention_dropout, bool) or not 0.0 <= attention_dropout < 1.0:
        raise ValueError(f"`attention_dropout` must be in [0, 1) or None, got {attention_dropout!r}.")
    return attention_dropout


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention (Vaswani et al., 2017) with the masks pretraining needs.

    Three masks can be given at once and are combined with a logical AND:
    a key padding mask `[batch, key]`, a causal mask (query `t` sees keys
    `<= t`), and any explicit `[batch, query, key]` mask, so UniLM-style
    prefix masks (bidirectional over a prefix, causal after it) work.

    For incremental decoding pass `cache`, a `[batch, 2, max_length, num_heads,
    key_dim]` tensor of keys and values, and `cache_update_index`, the position
    of the first query token: the new keys/values are written into the cache at
    that index, attention runs over the whole cache (the causal mask hides the
    unwritten part) and the updated cache is returned.

    The weights have keras-hub's / Keras's shapes: query, key and value kernels
    `[input_dim, num_heads, key_dim]` with biases `[num_heads, key_dim]`, and an
    output kernel `[num_heads, key_dim, output_dim]` with bias `[output_dim]`;
    the projections are 2D matmuls into `(batch, length, heads, key_dim)`.

    Two ways compute the same attention. The fused path calls
    `keras.ops.dot_product_attention`, so each backend can use its fused
    kernel (cuDNN flash attention under JAX on a GPU for bfloat16 / float16,
    PyTorch's `scaled_dot_product_attention`, splash attention on TPU); it
    cannot drop attention probabilities, so it runs only when no attention
    dropout is active (inference, or `dropout=0`). The explicit path is a
    softmax between two batched matmuls in `(batch, heads, length, key_dim)`
    layout and applies the dropout. `fused_attention=None` picks the fused path
    where it may run on every backend but TensorFlow, whose
    `dot_product_attention` has no fused kernel (an einsum) and was slower than
    the explicit path on CPU (docs/layers.md gives the figures).

    Args:
        num_heads: int. Number of attention heads.
        key_dim: int. Size of each head's query/key/value vectors.
        dropout: float. Dropout rate on the attention probabilities.
            Defaults to 0.
        fused_attention: bool or None. Whether to compute through
            `keras.ops.dot_product_attention` when no attention dropout is
            active; with attention dropout active in training the explicit
            path runs either way. None chooses per backend (yes on JAX and
            PyTorch, no on TensorFlow). Defaults to None.
        kernel_initializer: initializer. Defaults to
            `TruncatedNormal(stddev=0.02)`.
        bias_initializer: initializer. Defaults to `"zeros"`.

    Call arguments:
        query: float tensor `[batch, query_length, query_dim]`.
        value: float tensor `[batch, key_length, value_dim]`; defaults to
            `query` (self-attention).
        padding_mask: tensor `[batch, key_length]`, 1/True for real keys.
        attention_mask: tensor `[batch, query_length, key_length]`, 1/True
            where the query may attend to the key.
        use_causal_mask: bool. Add a causal mask. Defaults to False.
        attention_bias: float tensor broadcastable to `[batch, num_heads,
            query_length, key_length]`, added to the attention logits before
            the softmax (e.g. `layers.alibi.alibi_bias`). Defaults to None.
        cache: float tensor `[batch, 2, max_length, num_heads, key_dim]` or
            None.
        cache_update_index: int or int scalar tensor; position of the first
            query token in the cache. Required with `cache`.
        training: bool. Whether dropout is active.

    Returns:
        `[batch, query_length, query_dim]`, or `(output, cache)` when `cache`
        is given.

    Example:

    >>> import numpy as np
    >>> from layers import MultiHeadAttention
    >>> attention = MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = np.random.rand(1, 5, 8).astype("float32")
    >>> tuple(attention(x, padding_mask=np.array([[1, 1, 1, 0, 0]])).shape)
    (1, 5, 8)
    >>> fused = MultiHeadAttention(num_heads=2, key_dim=4, fused_attention=True)
    >>> fused.build(x.shape)
    >>> fused.set_weights(attention.get_weights())
    >>> bool(np.allclose(fused(x, use_causal_mask=True), attention(x, use_causal_mask=True), atol=1e-5))
    True

    Reference:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), section 3.2
        - [Dong et al., 2019 (UniLM)](https://arxiv.org/abs/1905.03197)
        - [Dao et al., 2022 (FlashAttention)](https://arxiv.org/abs/2205.14135)
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        dropout=0.0,
        fused_attention=None,
        kernel_initializer=None,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(num_heads) < 1:
            raise ValueError(f"`num_heads` must be a positive int, got {num_heads!r}.")
        if int(key_dim) < 1:
            raise ValueError(f"`key_dim` must be a positive int, got {key_dim!r}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1), got {dropout!r}.")
        if fused_attention not in (None, True, False):
            raise ValueError(f"`fused_attention` must be None, True or False, got {fused_attention!r}.")
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.dropout = dropout
        self.fused_attention = fused_attention
        self.kernel_initializer = keras.initializers.get(kernel_initializer or truncated_normal())
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy, name="dropout")

    def build(self, query_shape, value_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        query_dim, value_dim = query_shape[-1], value_shape[-1]
        heads = (self.num_heads, self.key_dim)
        self.query_kernel = self._kernel("query_kernel", (query_dim,) + heads)
        self.query_bias = self._bias("query_bias", heads)
        self.key_kernel = self._kernel("key_kernel", (value_dim,) + heads)
        self.key_bias = self._bias("key_bias", heads)
        self.value_kernel = self._kernel("value_kernel", (value_dim,) + heads)
        self.value_bias = self._bias("value_bias", heads)
        self.output_kernel = self._kernel("output_kernel", heads + (query_dim,))
        self.output_bias = self._bias("output_bias", (query_dim,))
        self.built = True

    def _kernel(self, name, shape):
        initializer = self.kernel_initializer.__class__.from_config(
            self.kernel_initializer.get_config()
        )
        return self.add_weight(name=name, shape=shape, initializer=initializer)

    def _bias(self, name, shape):
        return self.add_weight(name=name, shape=shape, initializer=self.bias_initializer)

    def uses_fused_attention(self, training=None):
        """Whether a call with this `training` computes through `keras.ops.dot_product_attention`."""
        if training and self.dropout > 0:
            return False  # the dropout needs the attention probabilities
        if self.fused_attention is None:
            return keras.backend.backend() != "tensorflow"
        return self.fused_attention

    def call(
        self,
        query,
        value=None,
        padding_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        cache=None,
        cache_update_index=None,
        training=None,
        attention_bias=None,
    ):
        if (cache is None) != (cache_update_index is None):
            raise ValueError("`cache` and `cache_update_index` must be given together.")
        self_attention = value is None
        value = query if value is None else value
        fused = self.uses_fused_attention(training)
        scale = 1.0 / math.sqrt(self.key_dim)
        # The explicit path folds the scale into the query projection; the fused kernels take it as an argument.
        query_heads = self._project(query, self.query_kernel, self.query_bias, 1.0 if fused else scale)  # (B, T, N, D)
        key_heads = self._project(value, self.key_kernel, self.key_bias)  # (B, S, N, D)
        value_heads = self._project(value, self.value_kernel, self.value_bias)  # (B, S, N, D)
        if cache is not None:
            key_heads, value_heads, cache = self._update_cache(
                cache, cache_update_index, key_heads, value_heads
            )  # keys and values (B, L, N, D)
        # Causal self-attention without a cache (queries and keys both start at 0) is the kernels' `is_causal`.
        is_causal = fused and use_causal_mask and self_attention and cache is None
        mask = self._combined_mask(
            ops.shape(query_heads)[1],
            ops.shape(key_heads)[1],
            padding_mask,
            attention_mask,
            use_causal_mask and not is_causal,
            0 if cache_update_index is None else cache_update_index,
        )
        if fused:
            attended = self._fused_attend(query_heads, key_heads, value_heads, mask, is_causal, scale, attention_bias)
        else:
            attended = self._attend(query_heads, key_heads, value_heads, mask, training, attention_bias)
        output = self._merge_heads(attended)
        if cache is not None:
            return output, cache
        return output

    def _project(self, inputs, kernel, bias, scale=1.0):
        """`(B, T, H)` -> heads `(B, T, N, D)` with one 2D matmul (faster on CPU than a broadcast einsum).

        `scale` multiplies the kernel and bias (the explicit path's query scale).
        """
        input_dim = kernel.shape[0]
        heads_dim = self.num_heads * self.key_dim
        batch, length = ops.shape(inputs)[0], ops.shape(inputs)[1]
        kernel = ops.reshape(kernel, (input_dim, heads_dim))  # (H, N*D)
        bias = ops.reshape(bias, (heads_dim,))  # (N*D,)
        if scale != 1.0:
            kernel, bias = kernel * scale, bias * scale
        x = ops.matmul(ops.reshape(inputs, (-1, input_dim)), kernel) + bias  # (B*T, N*D)
        return ops.reshape(x, (batch, length, self.num_heads, self.key_dim))  # (B, T, N, D)

    def _update_cache(self, cache, cache_update_index, key_heads, value_heads):
        """Write the new `(B, T, N, D)` keys/values into the `(B, 2, L, N, D)` cache; return all, `(B, L, N, D)`."""
        start = [0, cache_update_index, 0, 0]
        keys = ops.slice_update(cache[:, 0, ...], start, key_heads)  # (B, L, N, D)
        values = ops.slice_update(cache[:, 1, ...], start, value_heads)  # (B, L, N, D)
        cache = ops.stack([keys, values], axis=1)  # (B, 2, L, N, D)
        return keys, values, cache

    def _merge_heads(self, attended):
        """`(B, T, N, D)` -> output projection `(B, T, H)`."""
        batch, length = ops.shape(attended)[0], ops.shape(attended)[1]
        heads_dim = self.num_heads * self.key_dim
        x = ops.reshape(attended, (-1, heads_dim))  # (B*T, N*D)
        kernel = ops.reshape(self.output_kernel, (heads_dim, -1))  # (N*D, H)
        x = ops.matmul(x, kernel) + self.output_bias  # (B*T, H)
        return ops.reshape(x, (batch, length, kernel.shape[-1]))  # (B, T, H)

    def _combined_mask(
        self, query_length, key_length, padding_mask, attention_mask, use_causal_mask, query_start
    ):
        """A boolean `[batch or 1, query or 1, key]` mask, or None when nothing is masked."""
        mask = None
        if padding_mask is not None:
            if len(padding_mask.shape) != 2:
                raise ValueError(
                    "`padding_mask` must have shape [batch, key_length], "
                    f"got shape {tuple(padding_mask.shape)}."
                )
            mask = ops.cast(padding_mask, "bool")[:, None, :]  # (B, 1, S)
        if attention_mask is not None:
            if len(attention_mask.shape) != 3:
                raise ValueError(
                    "`attention_mask` must have shape [batch, query_length, key_length], "
                    f"got shape {tuple(attention_mask.shape)}."
                )
            explicit = ops.cast(attention_mask, "bool")
            mask = explicit if mask is None else ops.logical_and(mask, explicit)
        if use_causal_mask:
            query_positions = ops.arange(query_length) + query_start
            key_positions = ops.arange(key_length)
            causal = query_positions[:, None] >= key_positions[None, :]  # (T, S)
            causal = causal[None, :, :]  # (1, T, S)
            mask = causal if mask is None else ops.logical_and(mask, causal)
        return mask

    def _attend(self, query_heads, key_heads, value_heads, mask, training, attention_bias=None):
        """The explicit path: softmax between two batched matmuls, dropout on the probabilities.

        Takes and returns `(B, T, N, D)` heads (the query already scaled) and
        computes in `(B, N, T, D)` layout.
        """
        query_heads = ops.transpose(query_heads, (0, 2, 1, 3))  # (B, N, T, D)
        key_heads = ops.transpose(key_heads, (0, 2, 1, 3))  # (B, N, S, D)
        value_heads = ops.transpose(value_heads, (0, 2, 1, 3))  # (B, N, S, D)
        # (B, N, T, D) x (B, N, D, S) -> (B, N, T, S)
        scores = ops.matmul(query_heads, ops.swapaxes(key_heads, -1, -2))
        if attention_bias is not None:
            scores = scores + ops.cast(attention_bias, scores.dtype)
        if mask is not None:
            # Additive bias: -1e9 where masked, as Keras's masked softmax.
            bias = ops.where(mask, 0.0, -1e9)[:, None, :, :]  # (B, 1, T, S)
            scores = scores + ops.cast(bias, scores.dtype)
        probabilities = self.dropout_layer(ops.softmax(scores, axis=-1), training=training)
        # (B, N, T, S) x (B, N, S, D) -> (B, N, T, D)
        attended = ops.matmul(probabilities, value_heads)
        return ops.transpose(attended, (0, 2, 1, 3))  # (B, T, N, D)

    def _fused_attend(self, query_heads, key_heads, value_heads, mask, is_causal, scale, attention_bias=None):
        """The fused path: `keras.ops.dot_product_attention` on `(B, T, N, D)` heads; returns `(B, T, N, D)`."""
        if mask is not None:
            # cuDNN's fused kernel takes a mask only at its full [T, S] size (as an additive bias).
            batch, query_length, key_length = (
                ops.shape(query_heads)[0], ops.shape(query_heads)[1], ops.shape(key_heads)[1]
            )
            mask = ops.broadcast_to(mask[:, None, :, :], (batch, 1, query_length, key_length))  # (B, 1, T, S)
        if attention_bias is not None:
            attention_bias = ops.cast(attention_bias, query_heads.dtype)
        return ops.dot_product_attention(
            query_heads, key_heads, value_heads, bias=attention_bias, mask=mask, scale=scale, is_causal=is_causal
        )

    def compute_output_shape(self, query_shape, value_shape=None):
        return query_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "dropout": self.dropout,
                "fused_attention": self.fused_attention,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
