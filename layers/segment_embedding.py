"""Segment (token-type) embedding."""

import keras
from keras import ops

from layers.initializers import truncated_normal


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class SegmentEmbedding(keras.layers.Layer):
    """One learned vector per segment id (sentence A = 0, sentence B = 1, ...).

    Args:
        num_segments: int. Number of segment ids. Defaults to 2.
        hidden_dim: int. Size of each vector.
        embeddings_initializer: initializer. Defaults to
            `TruncatedNormal(stddev=0.02)`.

    Call arguments:
        segment_ids: int tensor `[batch, sequence]`.

    Example:

    >>> import numpy as np
    >>> from layers import SegmentEmbedding
    >>> segments = SegmentEmbedding(num_segments=2, hidden_dim=4)
    >>> tuple(segments(np.array([[0, 0, 1]])).shape)
    (1, 3, 4)

    Reference:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805), section 3
    """

    def __init__(self, num_segments=2, hidden_dim=None, embeddings_initializer=None, **kwargs):
        super().__init__(**kwargs)
        if num_segments is None or int(num_segments) < 1:
            raise ValueError(f"`num_segments` must be a positive int, got {num_segments!r}.")
        if hidden_dim is None or int(hidden_dim) < 1:
            raise ValueError(f"`hidden_dim` must be a positive int, got {hidden_dim!r}.")
        self.num_segments = int(num_segments)
        self.hidden_dim = int(hidden_dim)
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer or truncated_normal()
        )

    def build(self, segment_ids_shape=None):
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.num_segments, self.hidden_dim),
            initializer=self.embeddings_initializer,
        )
        self.built = True

    def call(self, segment_ids):
        if not keras.backend.standardize_dtype(segment_ids.dtype).startswith(("int", "uint")):
            raise ValueError(
                f"`segment_ids` must be an integer tensor, got dtype {segment_ids.dtype}."
            )
        return ops.take(self.embeddings, segment_ids, axis=0)

    def compute_output_shape(self, segment_ids_shape):
        return tuple(segment_ids_shape) + (self.hidden_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_segments": self.num_segments,
                "hidden_dim": self.hidden_dim,
                "embeddings_initializer": keras.initializers.serialize(
                    self.embeddings_initializer
                ),
            }
        )
        return config
