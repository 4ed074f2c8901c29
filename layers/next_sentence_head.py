"""Next-sentence prediction head on the pooled [CLS] vector."""

import keras

from layers.initializers import truncated_normal


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class NextSentenceHead(keras.layers.Layer):
    """Two logits from the pooled output: is segment B the real continuation of A?

    The pooler (dense + tanh on [CLS]) belongs to `BertEncoder`
    (`pooled_output`); this head is the final dense layer of two units. Label 0
    means B is the real next segment, 1 that it is random (google-research/bert).

    Args:
        kernel_initializer: initializer. Defaults to
            `TruncatedNormal(stddev=0.02)`.
        bias_initializer: initializer. Defaults to `"zeros"`.

    Call arguments:
        pooled_output: float tensor `[batch, hidden_dim]`.

    Returns:
        Logits `[batch, 2]`.

    Example:

    >>> import numpy as np
    >>> from layers import NextSentenceHead
    >>> tuple(NextSentenceHead()(np.zeros((3, 8), "float32")).shape)
    (3, 2)

    Reference:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805), section 3.1
    """

    def __init__(self, kernel_initializer=None, bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer or truncated_normal())
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.dense = keras.layers.Dense(
            2,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="dense",
        )

    def build(self, pooled_output_shape):
        if len(pooled_output_shape) != 2:
            raise ValueError(
                "`pooled_output` must have shape [batch, hidden_dim], "
                f"got shape {tuple(pooled_output_shape)}."
            )
        self.dense.build(pooled_output_shape)
        self.built = True

    def call(self, pooled_output):
        return self.dense(pooled_output)

    def compute_output_shape(self, pooled_output_shape):
        return (pooled_output_shape[0], 2)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
