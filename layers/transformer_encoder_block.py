"""One Transformer encoder layer: self-attention and feed-forward, each with a residual and LayerNorm."""

import keras
from keras import ops

from layers.feed_forward import FeedForward
from layers.initializers import truncated_normal
from layers.multi_head_attention import MultiHeadAttention, resolve_attention_dropout


def gather_rows(x, positions):
    """`x` `(B, T, ...)` at `positions` `(B, Q)` -> `(B, Q, ...)`."""
    index = ops.cast(positions, "int32")
    for _ in range(len(x.shape) - 2):
        index = index[..., None]  # (B, Q, 1, ...), broadcast over the trailing axes
    return ops.take_along_axis(x, index, axis=1)


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class TransformerEncoderBlock(keras.layers.Layer):
    """Bidirectional self-attention + feed-forward, post-LayerNorm as BERT.

    Post-LN (default, BERT): `x = LN(x + drop(attn(x)))`, `x = LN(x + ffn(x))`.
    Pre-LN (`normalize_first=True`): `x = x + drop(attn(LN(x)))`,
    `x = x + ffn(LN(x))`.

    Args:
        num_heads: int. Number of attention heads; must divide the hidden size.
        intermediate_dim: int. Hidden size of the feed-forward block.
        dropout: float. Dropout on both residual branches (and on the
            attention probabilities unless `attention_dropout` is given).
            Defaults to 0.
        activation: str. Feed-forward activation (`"relu"`, `"gelu"`,
            `"gelu_approximate"`). Defaults to `"gelu_approximate"`.
        layer_norm_epsilon: float. Defaults to 1e-5.
        normalize_first: bool. Pre-LN instead of post-LN. Defaults to False.
        kernel_initializer: initializer. Defaults to
            `TruncatedNormal(stddev=0.02)`.
        bias_initializer: initializer. Defaults to `"zeros"`.
        attention_dropout: float or None. Dropout on the attention
            probabilities; None means `dropout` (BERT's recipe). With 0, the
            attention can run on the backend's fused kernel in training too
            (`MultiHeadAttention`). Defaults to None.

    Call arguments:
        inputs: float tensor `[batch, sequence, hidden_dim]`.
        padding_mask: tensor `[batch, sequence]`, 1 for real tokens. Padded
            positions are never attended to.
        attention_mask: tensor `[batch, sequence, sequence]`, 1 where query
            position may attend to key position (e.g. a UniLM prefix mask).
        attention_bias: float tensor broadcastable to `[batch, num_heads,
            Q or sequence, sequence]`, added to the attention logits (ALiBi);
            with `query_positions`, its rows are those of the positions.
        query_positions: optional int tensor `[batch, Q]`. If given, only
            these rows are computed (they still attend to every position) and
            the output is `[batch, Q, hidden_dim]`, equal to the full output
            gathered at those rows: BERT's last block needs only the masked
            positions and [CLS].
        training: bool. Whether dropout is active.

    Example:

    >>> import numpy as np
    >>> from layers import TransformerEncoderBlock
    >>> block = TransformerEncoderBlock(num_heads=2, intermediate_dim=16)
    >>> x = np.random.rand(2, 4, 8).astype("float32")
    >>> tuple(block(x, padding_mask=np.array([[1, 1, 1, 0], [1, 1, 1, 1]])).shape)
    (2, 4, 8)

    Reference:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762)
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805)
        - [Xiong et al., 2020 (pre-LN)](https://arxiv.org/abs/2002.04745)
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        activation="gelu_approximate",
        layer_norm_epsilon=1e-5,
        normalize_first=False,
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
        self.kernel_initializer = keras.initializers.get(kernel_initializer or truncated_normal())
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.self_attention = None
        self.self_attention_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="self_attention_layer_norm"
        )
        self.self_attention_dropout = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="self_attention_dropout"
        )
        self.feed_forward = FeedForward(
            intermediate_dim,
            activation=activation,
            dropout=dropout,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="feed_forward",
        )
        self.feed_forward_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="feed_forward_layer_norm"
        )

    def build(self, inputs_shape):
        hidden_dim = inputs_shape[-1]
        if hidden_dim % self.num_heads:
            raise ValueError(
                f"`hidden_dim`={hidden_dim} must be divisible by `num_heads`={self.num_heads}."
            )
        self.self_attention = MultiHeadAttention(
            self.num_heads,
            hidden_dim // self.num_heads,
            dropout=self.attention_dropout,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="self_attention",
        )
        self.self_attention.build(inputs_shape)
        self.self_attention_layer_norm.build(inputs_shape)
        self.feed_forward.build(inputs_shape)
        self.feed_forward_layer_norm.build(inputs_shape)
        self.built = True

    def call(
        self, inputs, padding_mask=None, attention_mask=None, query_positions=None, training=None, attention_bias=None
    ):
        x = inputs
        if self.normalize_first:
            x = self.self_attention_layer_norm(x)
        if query_positions is None:
            residual = inputs
            x = self.self_attention(
                x,
                padding_mask=padding_mask,
                attention_mask=attention_mask,
                attention_bias=attention_bias,
                training=training,
            )
        else:
            # Only the rows at `query_positions` attend (to every key) and go on.
            residual = gather_rows(inputs, query_positions)  # (B, Q, H)
            if attention_mask is not None:
                attention_mask = gather_rows(attention_mask, query_positions)  # (B, Q, S)
            x = self.self_attention(
                gather_rows(x, query_positions),
                x,
                padding_mask=padding_mask,
                attention_mask=attention_mask,
                attention_bias=attention_bias,
                training=training,
            )
        x = residual + self.self_attention_dropout(x, training=training)
        if not self.normalize_first:
            x = self.self_attention_layer_norm(x)

        residual = x
        if self.normalize_first:
            x = self.feed_forward_layer_norm(x)
        x = residual + self.feed_forward(x, training=training)
        if not self.normalize_first:
            x = self.feed_forward_layer_norm(x)
        return x

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

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
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
