"""ELMo's learned, softmax-weighted mix of a model's layers."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class ScalarMix(keras.layers.Layer):
    """ELMo's task-specific mix of layers: `gamma * sum_j softmax(s)_j * h_j`.

    Call arguments:
        layer_outputs: float tensor `[batch, num_layers, sequence, dim]`.

    Example:

    >>> import numpy as np
    >>> from layers.scalar_mix import ScalarMix
    >>> mix = ScalarMix()
    >>> tuple(mix(np.ones((2, 3, 5, 4), "float32")).shape)
    (2, 5, 4)

    Reference:
        - [Peters et al., 2018](https://arxiv.org/abs/1802.05365), equation 1.
    """

    def build(self, layer_outputs_shape):
        self.layer_weights = self.add_weight(
            name="layer_weights", shape=(layer_outputs_shape[1],), initializer="zeros"
        )
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="ones")
        self.built = True

    def call(self, layer_outputs):
        weights = ops.softmax(self.layer_weights)  # (L,)
        mixed = ops.einsum("l,bltd->btd", weights, layer_outputs)  # (B, T, D)
        return self.gamma * mixed

    def compute_output_shape(self, layer_outputs_shape):
        return (layer_outputs_shape[0],) + tuple(layer_outputs_shape[2:])
