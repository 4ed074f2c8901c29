"""BERT's input embedding: token + position + segment, then LayerNorm and dropout."""

import keras

from layers.initializers import truncated_normal
from layers.position_embedding import PositionEmbedding
from layers.segment_embedding import SegmentEmbedding
from layers.token_embedding import TokenEmbedding


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class BertEmbedding(keras.layers.Layer):
    """Sum of token, learned position and segment embeddings, normalised.

    `LayerNorm(token(ids) + position + segment(segment_ids))`, then dropout,
    as in BERT. The token embedding is reachable as `token_embedding` to tie
    an output projection to it.

    Args:
        vocabulary_size: int. Token vocabulary size.
        hidden_dim: int. Embedding size.
        max_sequence_length: int. Number of learned positions. Defaults to 512.
        num_segments: int. Number of segment ids; 0 disables segment
            embeddings. Defaults to 2.
        dropout: float. Dropout rate after the LayerNorm. Defaults to 0.
        layer_norm_epsilon: float. Defaults to 1e-12 (BERT).
        initializer: initializer of the three tables. Defaults to
            `TruncatedNormal(stddev=0.02)`.

    Call arguments:
        token_ids: int tensor `[batch, sequence]`.
        segment_ids: int tensor `[batch, sequence]`, or None when
            `num_segments` is 0.
        training: bool. Whether dropout is active.

    Example:

    >>> import numpy as np
    >>> from layers import BertEmbedding
    >>> embedding = BertEmbedding(vocabulary_size=10, hidden_dim=4, max_sequence_length=8)
    >>> tuple(embedding(np.array([[2, 5, 3]]), np.array([[0, 0, 1]])).shape)
    (1, 3, 4)

    Reference:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805), figure 2
    """

    def __init__(
        self,
        vocabulary_size,
        hidden_dim,
        max_sequence_length=512,
        num_segments=2,
        dropout=0.0,
        layer_norm_epsilon=1e-12,
        initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer = keras.initializers.get(initializer or truncated_normal())
        self.token_embedding = TokenEmbedding(
            vocabulary_size,
            hidden_dim,
            embeddings_initializer=self._clone_initializer(),
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.position_embedding = PositionEmbedding(
            max_sequence_length,
            initializer=self._clone_initializer(),
            dtype=self.dtype_policy,
            name="position_embedding",
        )
        self.segment_embedding = None
        if num_segments:
            self.segment_embedding = SegmentEmbedding(
                num_segments,
                hidden_dim,
                embeddings_initializer=self._clone_initializer(),
                dtype=self.dtype_policy,
                name="segment_embedding",
            )
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm"
        )
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy, name="dropout")

    def _clone_initializer(self):
        return self.initializer.__class__.from_config(self.initializer.get_config())

    def build(self, token_ids_shape, segment_ids_shape=None):
        embedded_shape = tuple(token_ids_shape) + (self.hidden_dim,)
        self.token_embedding.build(token_ids_shape)
        self.position_embedding.build(embedded_shape)
        if self.segment_embedding is not None:
            self.segment_embedding.build(token_ids_shape)
        self.layer_norm.build(embedded_shape)
        self.built = True

    def call(self, token_ids, segment_ids=None, training=None):
        tokens = self.token_embedding(token_ids)
        x = tokens + self.position_embedding(tokens)
        if self.segment_embedding is not None:
            if segment_ids is None:
                raise ValueError("`segment_ids` is required when `num_segments` > 0.")
            x = x + self.segment_embedding(segment_ids)
        x = self.layer_norm(x)
        return self.dropout_layer(x, training=training)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        return tuple(token_ids_shape) + (self.hidden_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "max_sequence_length": self.max_sequence_length,
                "num_segments": self.num_segments,
                "dropout": self.dropout,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config
