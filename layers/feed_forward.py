"""Position-wise feed-forward block of a Transformer layer."""

import keras

from layers.activations import get_activation
from layers.initializers import truncated_normal


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class FeedForward(keras.layers.Layer):
    """`dropout(dense_out(activation(dense_in(x))))`, applied at every position.

    The output has the size of the input; the hidden layer has
    `intermediate_dim` units.

    Args:
        intermediate_dim: int. Size of the hidden layer.
        activation: str. `"relu"`, `"gelu"` (exact) or `"gelu_approximate"`
            (tanh, as BERT and GPT-2). Defaults to `"gelu_approximate"`.
        dropout: float. Dropout rate on the output. Defaults to 0.
        kernel_initializer: initializer. Defaults to
            `TruncatedNormal(stddev=0.02)`.
        bias_initializer: initializer. Defaults to `"zeros"`.

    Call arguments:
        inputs: float tensor `[batch, sequence, hidden_dim]`.
        training: bool. Whether dropout is active.

    Example:

    >>> import numpy as np
    >>> from layers import FeedForward
    >>> block = FeedForward(intermediate_dim=16, activation="relu")
    >>> tuple(block(np.ones((2, 3, 8), "float32")).shape)
    (2, 3, 8)

    Reference:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), section 3.3
    """

    def __init__(
        self,
        intermediate_dim,
        activation="gelu_approximate",
        dropout=0.0,
        kernel_initializer=None,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if intermediate_dim is None or int(intermediate_dim) < 1:
            raise ValueError(
                f"`intermediate_dim` must be a positive int, got {intermediate_dim!r}."
            )
        self.intermediate_dim = int(intermediate_dim)
        self.activation = activation
        self.dropout = dropout
        self.kernel_initializer = keras.initializers.get(kernel_initializer or truncated_normal())
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.intermediate_dense = keras.layers.Dense(
            self.intermediate_dim,
            activation=get_activation(activation),
            kernel_initializer=self._clone(self.kernel_initializer),
            bias_initializer=self._clone(self.bias_initializer),
            dtype=self.dtype_policy,
            name="intermediate_dense",
        )
        self.output_dense = None
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy, name="dropout")

    @staticmethod
    def _clone(initializer):
        return initializer.__class__.from_config(initializer.get_config())

    def build(self, inputs_shape):
        self.intermediate_dense.build(inputs_shape)
        self.output_dense = keras.layers.Dense(
            inputs_shape[-1],
            kernel_initializer=self._clone(self.kernel_initializer),
            bias_initializer=self._clone(self.bias_initializer),
            dtype=self.dtype_policy,
            name="output_dense",
        )
        self.output_dense.build(tuple(inputs_shape[:-1]) + (self.intermediate_dim,))
        self.built = True

    def call(self, inputs, training=None):
        x = self.output_dense(self.intermediate_dense(inputs))
        return self.dropout_layer(x, training=training)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "activation": self.activation,
                "dropout": self.dropout,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
