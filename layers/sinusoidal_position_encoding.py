"""Fixed sinusoidal position encoding of Vaswani et al. (2017)."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class SinusoidalPositionEncoding(keras.layers.Layer):
    """Sine/cosine position encoding, no weights.

    `PE[pos, 2i] = sin(pos / max_wavelength^(2i / d))` and
    `PE[pos, 2i + 1] = cos(pos / max_wavelength^(2i / d))`, for an even
    feature size `d` read from the input shape.

    Args:
        max_wavelength: float. The longest wavelength. Defaults to 10000.

    Call arguments:
        inputs: float tensor `[batch, sequence, hidden_dim]`; only its shape is
            used.
        start_index: int or int scalar tensor. Position of the first input
            token. Defaults to 0.

    Example:

    >>> import numpy as np
    >>> from layers import SinusoidalPositionEncoding
    >>> encoding = SinusoidalPositionEncoding()(np.zeros((1, 3, 4), "float32"))
    >>> [round(float(value), 3) for value in np.asarray(encoding)[0, 1]]
    [0.841, 0.54, 0.01, 1.0]

    Reference:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), section 3.5
    """

    def __init__(self, max_wavelength=10000.0, **kwargs):
        super().__init__(**kwargs)
        if max_wavelength <= 1:
            raise ValueError(f"`max_wavelength` must be > 1, got {max_wavelength!r}.")
        self.max_wavelength = float(max_wavelength)

    def build(self, inputs_shape):
        if inputs_shape[-1] is not None and inputs_shape[-1] % 2:
            raise ValueError(
                f"`hidden_dim` must be even for sinusoidal encoding, got {inputs_shape[-1]}."
            )
        self.built = True

    def call(self, inputs, start_index=0):
        shape = ops.shape(inputs)
        hidden_dim = inputs.shape[-1]
        positions = ops.cast(ops.arange(shape[-2]) + start_index, self.compute_dtype)  # (T,)
        pair_index = ops.arange(hidden_dim // 2, dtype=self.compute_dtype)  # (d/2,)
        frequencies = ops.exp(-math.log(self.max_wavelength) * 2.0 * pair_index / hidden_dim)
        angles = positions[:, None] * frequencies[None, :]  # (T, d/2)
        # Interleave: (T, d/2, 2) -> (T, d) gives sin, cos, sin, cos, ...
        encoding = ops.reshape(
            ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1), (shape[-2], hidden_dim)
        )
        return ops.broadcast_to(encoding, shape)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config
