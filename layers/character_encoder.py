"""ELMo's character CNN: character embeddings, convolutions, max-pool, highway layers, projection."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class CharacterEncoder(keras.layers.Layer):
    """Turns the characters of each token into one vector: ELMo's char-CNN.

    Characters are embedded, convolved with filters of several widths,
    max-pooled over the characters of the token, passed through highway
    layers and projected to `output_dim`. A token's vector depends only on its
    own characters, so words never seen in training still get one.

    Args:
        output_dim: int. Size of each token vector.
        character_vocabulary_size: int. Number of character ids (id 0 pads).
            Defaults to 259 (UTF-8 bytes shifted by 3 plus pad, begin- and
            end-of-word ids).
        character_embedding_dim: int. Size of each character vector.
            Defaults to 16.
        filters: list of `(width, count)` pairs, one convolution each.
            Defaults to `((1, 32), (2, 32), (3, 64), (4, 128), (5, 256))`.
        num_highway_layers: int. Defaults to 2.

    Call arguments:
        character_ids: int tensor `[batch, sequence, characters]`.

    Example:

    >>> import numpy as np
    >>> from layers.character_encoder import CharacterEncoder
    >>> encoder = CharacterEncoder(output_dim=8, filters=((1, 4), (2, 4)))
    >>> tuple(encoder(np.ones((2, 3, 6), "int32")).shape)
    (2, 3, 8)

    Reference:
        - [Kim et al., 2016](https://arxiv.org/abs/1508.06615)
    """

    def __init__(
        self,
        output_dim,
        character_vocabulary_size=259,
        character_embedding_dim=16,
        filters=((1, 32), (2, 32), (3, 64), (4, 128), (5, 256)),
        num_highway_layers=2,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not filters:
            raise ValueError("`filters` must list at least one `(width, count)` pair.")
        self.output_dim = int(output_dim)
        self.character_vocabulary_size = int(character_vocabulary_size)
        self.character_embedding_dim = int(character_embedding_dim)
        self.filters = tuple((int(width), int(count)) for width, count in filters)
        self.num_highway_layers = int(num_highway_layers)
        self.character_embedding = keras.layers.Embedding(
            self.character_vocabulary_size,
            self.character_embedding_dim,
            name="character_embedding",
        )
        self.convolutions = [
            keras.layers.Conv1D(count, width, padding="same", activation="relu", name=f"conv_{width}")
            for width, count in self.filters
        ]
        total_filters = sum(count for _, count in self.filters)
        # Highway: y = g * relu(W x) + (1 - g) * x, the gate initialised towards carrying x.
        self.highway_transforms = [
            keras.layers.Dense(total_filters, activation="relu", name=f"highway_transform_{i}")
            for i in range(self.num_highway_layers)
        ]
        self.highway_gates = [
            keras.layers.Dense(
                total_filters,
                activation="sigmoid",
                bias_initializer=keras.initializers.Constant(-2.0),
                name=f"highway_gate_{i}",
            )
            for i in range(self.num_highway_layers)
        ]
        self.projection = keras.layers.Dense(self.output_dim, name="projection")

    def build(self, character_ids_shape):
        characters = character_ids_shape[-1]
        self.character_embedding.build((None, characters))
        for convolution in self.convolutions:
            convolution.build((None, characters, self.character_embedding_dim))
        total_filters = sum(count for _, count in self.filters)
        for transform, gate in zip(self.highway_transforms, self.highway_gates):
            transform.build((None, total_filters))
            gate.build((None, total_filters))
        self.projection.build((None, total_filters))
        self.built = True

    def call(self, character_ids):
        shape = ops.shape(character_ids)
        flat_ids = ops.reshape(character_ids, (-1, shape[-1]))  # (B*T, C)
        # Padding characters (id 0) embed to zeros, as the convolution's own
        # "same" padding does, and never win the max-pool.
        is_character = ops.expand_dims(ops.not_equal(flat_ids, 0), -1)  # (B*T, C, 1)
        characters = self.character_embedding(flat_ids)  # (B*T, C, E)
        characters = characters * ops.cast(is_character, characters.dtype)
        pooled = []
        for convolution in self.convolutions:
            features = convolution(characters)  # (B*T, C, count)
            features = ops.where(is_character, features, ops.full_like(features, -1e9))
            pooled.append(ops.max(features, axis=1))  # (B*T, count)
        x = ops.concatenate(pooled, axis=-1)  # (B*T, F)
        # A token of only padding has no characters: give it a zero vector.
        x = ops.where(ops.any(is_character, axis=1), x, ops.zeros_like(x))
        for transform, gate in zip(self.highway_transforms, self.highway_gates):
            carry = gate(x)
            x = carry * transform(x) + (1.0 - carry) * x
        x = self.projection(x)  # (B*T, output_dim)
        return ops.reshape(x, (shape[0], shape[1], self.output_dim))  # (B, T, output_dim)

    def compute_output_shape(self, character_ids_shape):
        return tuple(character_ids_shape[:2]) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "output_dim": self.output_dim,
                "character_vocabulary_size": self.character_vocabulary_size,
                "character_embedding_dim": self.character_embedding_dim,
                "filters": [list(pair) for pair in self.filters],
                "num_highway_layers": self.num_highway_layers,
            }
        )
        return config

# Character ids: 0 pads, 1 begins and 2 ends a token, UTF-8 byte b is b + 3.
