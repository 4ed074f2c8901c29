"""Learned absolute position embedding."""

import keras
from keras import ops

from layers.initializers import truncated_normal


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class PositionEmbedding(keras.layers.Layer):
    """A learned vector per position, broadcast over the batch (BERT, GPT-2).

    The layer reads only the shape of its input: for `inputs` of shape
    `[batch, sequence, hidden_dim]` it returns the embeddings of positions
    `start_index .. start_index + sequence - 1`, broadcast to that shape.

    Args:
        sequence_length: int. Maximum number of positions.
        initializer: initializer. Defaults to `TruncatedNormal(stddev=0.02)`.

    Call arguments:
        inputs: float tensor `[batch, sequence, hidden_dim]`, usually the
            token embeddings.
        start_index: int or int scalar tensor. Position of the first input
            token; used by cached decoding. Defaults to 0.

    Example:

    >>> import numpy as np
    >>> from layers import PositionEmbedding
    >>> positions = PositionEmbedding(sequence_length=16)
    >>> tuple(positions(np.zeros((2, 5, 8), "float32")).shape)
    (2, 5, 8)

    Reference:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805)
    """

    def __init__(self, sequence_length, initializer=None, **kwargs):
        super().__init__(**kwargs)
        if sequence_length is None or int(sequence_length) < 1:
            raise ValueError(
                f"`sequence_length` must be a positive int, got {sequence_length!r}."
            )
        self.sequence_length = int(sequence_length)
        self.initializer = keras.initializers.get(initializer or truncated_normal())

    def build(self, inputs_shape):
        self.position_embeddings = self.add_weight(
            name="embeddings",
            shape=(self.sequence_length, inputs_shape[-1]),
            initializer=self.initializer,
        )
        self.built = True

    def call(self, inputs, start_index=0):
        length = inputs.shape[-2]
        if length is not None and isinstance(start_index, int):
            if start_index + length > self.sequence_length:
                raise ValueError(
                    f"Input sequence of length {length} (starting at {start_index}) is "
                    f"longer than `max_sequence_length`={self.sequence_length}."
                )
        shape = ops.shape(inputs)
        embeddings = ops.slice(
            ops.convert_to_tensor(self.position_embeddings),
            (start_index, 0),
            (shape[-2], shape[-1]),
        )  # (T, H)
        return ops.broadcast_to(embeddings, shape)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config
