"""One Transformer decoder layer: causal self-attention, optional cross-attention, feed-forward."""

import keras

from layers.feed_forward import FeedForward
from layers.initializers import truncated_normal
from layers.multi_head_attention import MultiHeadAttention, resolve_attention_dropout


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class TransformerDecoderBlock(keras.layers.Layer):
    """Causal self-attention, optional cross-attention to an encoder, and a feed-forward block.

    Each sub-block has a residual connection and a LayerNorm, after it
    (post-LN, Vaswani et al.) or before it (`normalize_first=True`, GPT-2).
    Cross-attention exists when `use_cross_attention=True`; then every call
    needs `encoder_sequence`.

    For incremental decoding pass `self_attention_cache`
    (`[batch, 2, max_length, num_heads, head_dim]`) and `cache_update_index`
    (position of the first input token); the call then returns
    `(outputs, self_attention_cache)`.

    Args:
        num_heads: int. Number of attention heads; must divide the hidden size.
        intermediate_dim: int. Hidden size of the feed-forward block.
        dropout: float. Dropout on the residual branches (and on the
            attention probabilities unless `attention_dropout` is given).
            Defaults to 0.
        activation: str. Feed-forward activation. Defaults to
            `"gelu_approximate"`.
        layer_norm_epsilon: float. Defaults to 1e-5.
        normalize_first: bool. Pre-LN (GPT-2) instead of post-LN. Defaults to
            False.
        use_cross_attention: bool. Add cross-attention to an encoder sequence.
            Defaults to False.
        kernel_initializer: initializer. Defaults to
            `TruncatedNormal(stddev=0.02)`.
        bias_initializer: initializer. Defaults to `"zeros"`.
        attention_dropout: float or None. Dropout on the attention
            probabilities of self- and cross-attention; None means `dropout`
            (GPT-2's recipe). With 0, the attention can run on the backend's
            fused kernel in training too (`MultiHeadAttention`). Defaults to
            None.

    Call arguments:
        decoder_sequence: float tensor `[batch, target_length, hidden_dim]`.
        encoder_sequence: float tensor `[batch, source_length, hidden_dim]`;
            required with cross-attention.
        decoder_padding_mask: tensor `[batch, target_length]`, 1 for real
            tokens (with a cache: `[batch, max_length]`).
        encoder_padding_mask: tensor `[batch, source_length]`.
        decoder_attention_mask: tensor `[batch, target_length, target_length]`,
            combined with the causal mask.
        self_attention_cache: float tensor or None, see above.
        cache_update_index: int or int scalar tensor.
        use_causal_mask: bool. Defaults to True.
        training: bool. Whether dropout is active.

    Example:

    >>> import numpy as np
    >>> from layers import TransformerDecoderBlock
    >>> block = TransformerDecoderBlock(num_heads=2, intermediate_dim=16, use_cross_attention=True)
    >>> target = np.random.rand(2, 3, 8).astype("float32")
    >>> source = np.random.rand(2, 5, 8).astype("float32")
    >>> tuple(block(target, encoder_sequence=source).shape)
    (2, 3, 8)

    Reference:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762)
        - [Radford et al., 2019 (GPT-2)](https://openai.com/research/better-language-models)
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        activation="gelu_approximate",
        layer_norm_epsilon=1e-5,
        normalize_first=False,
        use_cross_attention=False,
        kernel_initializer=None,
        bias_initializer="zeros",
        attention_dropout=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.attention_dropout = resolve_attention_dropout(attention_dropout, dropout)
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.normalize_first = normalize_first
        self.use_cross_attention = use_cross_attention
        self.kernel_initializer = keras.initializers.get(kernel_initializer or truncated_normal())
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.self_attention = None
        self.cross_attention = None
        self.self_attention_layer_norm = self._layer_norm("self_attention_layer_norm")
        self.self_attention_dropout = self._dropout("self_attention_dropout")
        if use_cross_attention:
            self.cross_attention_layer_norm = self._layer_norm("cross_attention_layer_norm")
            self.cross_attention_dropout = self._dropout("cross_attention_dropout")
        self.feed_forward = FeedForward(
            intermediate_dim,
            activation=activation,
            dropout=dropout,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="feed_forward",
        )
        self.feed_forward_layer_norm = self._layer_norm("feed_forward_layer_norm")

    def _layer_norm(self, name):
        return keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )

    def _dropout(self, name):
        return keras.layers.Dropout(self.dropout, dtype=self.dtype_policy, name=name)

    def _attention(self, hidden_dim, name):
        return MultiHeadAttention(
            self.num_heads,
            hidden_dim // self.num_heads,
            dropout=self.attention_dropout,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        hidden_dim = decoder_sequence_shape[-1]
        if hidden_dim % self.num_heads:
            raise ValueError(
                f"`hidden_dim`={hidden_dim} must be divisible by `num_heads`={self.num_heads}."
            )
        self.self_attention = self._attention(hidden_dim, "self_attention")
        self.self_attention.build(decoder_sequence_shape)
        self.self_attention_layer_norm.build(decoder_sequence_shape)
        if self.use_cross_attention:
            encoder_sequence_shape = encoder_sequence_shape or decoder_sequence_shape
            self.cross_attention = self._attention(hidden_dim, "cross_attention")
            self.cross_attention.build(decoder_sequence_shape, encoder_sequence_shape)
            self.cross_attention_layer_norm.build(decoder_sequence_shape)
        self.feed_forward.build(decoder_sequence_shape)
        self.feed_forward_layer_norm.build(decoder_sequence_shape)
        self.built = True

    def call(
        self,
        decoder_sequence,
        encoder_sequence=None,
        decoder_padding_mask=None,
        encoder_padding_mask=None,
        decoder_attention_mask=None,
        self_attention_cache=None,
        cache_update_index=None,
        use_causal_mask=True,
        training=None,
    ):
        if self.use_cross_attention and encoder_sequence is None:
            raise ValueError(
                "`encoder_sequence` is required: this block has `use_cross_attention=True`."
            )
        if not self.use_cross_attention and encoder_sequence is not None:
            raise ValueError(
                "`encoder_sequence` was given but this block has `use_cross_attention=False`."
            )
        x = decoder_sequence
        residual = x
        if self.normalize_first:
            x = self.self_attention_layer_norm(x)
        x = self.self_attention(
            x,
            padding_mask=decoder_padding_mask,
            attention_mask=decoder_attention_mask,
            use_causal_mask=use_causal_mask,
            cache=self_attention_cache,
            cache_update_index=cache_update_index,
            training=training,
        )
        if self_attention_cache is not None:
            x, self_attention_cache = x
        x = residual + self.self_attention_dropout(x, training=training)
        if not self.normalize_first:
            x = self.self_attention_layer_norm(x)

        if self.use_cross_attention:
            residual = x
            if self.normalize_first:
                x = self.cross_attention_layer_norm(x)
            x = self.cross_attention(
                x, encoder_sequence, padding_mask=encoder_padding_mask, training=training
            )
            x = residual + self.cross_attention_dropout(x, training=training)
            if not self.normalize_first:
                x = self.cross_attention_layer_norm(x)

        residual = x
        if self.normalize_first:
            x = self.feed_forward_layer_norm(x)
        x = residual + self.feed_forward(x, training=training)
        if not self.normalize_first:
            x = self.feed_forward_layer_norm(x)
        if self_attention_cache is not None:
            return x, self_attention_cache
        return x

    def compute_output_shape(self, decoder_sequence_shape, encoder_sequence_shape=None):
        return decoder_sequence_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "attention_dropout": self.attention_dropout,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "normalize_first": self.normalize_first,
                "use_cross_attention": self.use_cross_attention,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
