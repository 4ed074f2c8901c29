"""ELECTRA's discriminator head: one logit per token, "was this token replaced?"."""

import keras
from keras import ops

from layers.activations import get_activation
from layers.initializers import truncated_normal


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class ReplacedTokenDetectionHead(keras.layers.Layer):
    """Per-token replaced/original logits: dense + activation, then a dense of one unit.

    The head of ELECTRA's discriminator (Clark et al., 2020): a logit > 0
    means the token at that position was put there by the generator, not taken
    from the text. Read every position of the encoder's `sequence_output`.

    Args:
        activation: str. Activation of the hidden dense layer. Defaults to
            `"gelu"`.
        kernel_initializer: initializer. Defaults to
            `TruncatedNormal(stddev=0.02)`.
        bias_initializer: initializer. Defaults to `"zeros"`.

    Call arguments:
        sequence_output: float tensor `[batch, sequence, hidden_dim]`.

    Returns:
        Logits `[batch, sequence]`.

    Example:

    >>> import numpy as np
    >>> from layers import ReplacedTokenDetectionHead
    >>> head = ReplacedTokenDetectionHead()
    >>> tuple(head(np.zeros((2, 5, 8), "float32")).shape)
    (2, 5)

    Reference:
        - [Clark et al., 2020](https://arxiv.org/abs/2003.10555)
    """

    def __init__(self, activation="gelu", kernel_initializer=None, bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.activation = activation
        self.kernel_initializer = keras.initializers.get(kernel_initializer or truncated_normal())
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self._activation = get_activation(activation)

    def _dense(self, units, name):
        return keras.layers.Dense(
            units,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, sequence_output_shape):
        if len(sequence_output_shape) != 3:
            raise ValueError(
                "`sequence_output` must have shape [batch, sequence, hidden_dim], "
                f"got shape {tuple(sequence_output_shape)}."
            )
        # The hidden dense is as wide as the encoder's states.
        self.dense = self._dense(sequence_output_shape[-1], "dense")
        self.dense.build(sequence_output_shape)
        self.logit = self._dense(1, "logit")
        self.logit.build(sequence_output_shape)
        self.built = True

    def call(self, sequence_output):
        hidden = self._activation(self.dense(sequence_output))
        return ops.squeeze(self.logit(hidden), axis=-1)

    def compute_output_shape(self, sequence_output_shape):
        return tuple(sequence_output_shape[:-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "activation": self.activation,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
