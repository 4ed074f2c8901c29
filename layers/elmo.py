"""ELMo: a bidirectional LSTM language model whose layers mix into contextual embeddings."""

import keras
import numpy as np
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
    >>> from layers.elmo import CharacterEncoder
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
PAD_CHARACTER, BEGIN_CHARACTER, END_CHARACTER, BYTE_OFFSET = 0, 1, 2, 3


def character_ids_for_vocabulary(vocabulary, max_characters):
    """`[len(vocabulary), max_characters]` int32 character ids of each token string.

    Each row is begin, the token's UTF-8 bytes (cut to fit), end, then padding;
    `[PAD]` (id 0) gets an all-padding row. `##` continuation prefixes are kept,
    so a piece inside a word differs from the same letters starting one.

    >>> character_ids_for_vocabulary(["[PAD]", "ab"], 5).tolist()
    [[0, 0, 0, 0, 0], [1, 100, 101, 2, 0]]
    """
    if max_characters < 3:
        raise ValueError(f"`max_characters` must be at least 3, got {max_characters}.")
    table = np.zeros((len(vocabulary), max_characters), np.int32)
    for index, token in enumerate(vocabulary):
        if index == 0:
            continue
        codes = [b + BYTE_OFFSET for b in token.encode("utf-8")[: max_characters - 2]]
        row = [BEGIN_CHARACTER] + codes + [END_CHARACTER]
        table[index, : len(row)] = row
    return table


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class TokenCharacters(keras.layers.Layer):
    """Looks up the character ids of token ids in a fixed (non-trainable) table.

    Fill the table with `set_table(character_ids_for_vocabulary(...))`; it is
    a weight, so checkpoints, `.keras` files and SavedModels carry it.

    Args:
        vocabulary_size: int. Rows of the table.
        max_characters: int. Characters per token.

    Call arguments:
        token_ids: int tensor `[batch, sequence]`.

    Example:

    >>> import numpy as np
    >>> lookup = TokenCharacters(vocabulary_size=2, max_characters=5)
    >>> lookup.set_table(character_ids_for_vocabulary(["[PAD]", "ab"], 5))
    >>> np.asarray(lookup(np.array([[1]]))).tolist()
    [[[1, 100, 101, 2, 0]]]
    """

    def __init__(self, vocabulary_size, max_characters, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.max_characters = int(max_characters)

    def build(self, token_ids_shape=None):
        self.table = self.add_weight(
            name="table",
            shape=(self.vocabulary_size, self.max_characters),
            dtype="int32",
            initializer="zeros",
            trainable=False,
        )
        self.built = True

    def set_table(self, table):
        """Sets the `[vocabulary_size, max_characters]` character ids."""
        if not self.built:
            self.build()
        if tuple(np.shape(table)) != (self.vocabulary_size, self.max_characters):
            raise ValueError(
                f"Character table of shape {np.shape(table)} does not match "
                f"({self.vocabulary_size}, {self.max_characters})."
            )
        self.table.assign(np.asarray(table, np.int32))

    def call(self, token_ids):
        return ops.take(self.table, token_ids, axis=0)  # (B, T, C)

    def compute_output_shape(self, token_ids_shape):
        return tuple(token_ids_shape) + (self.max_characters,)

    def get_config(self):
        config = super().get_config()
        config.update({"vocabulary_size": self.vocabulary_size, "max_characters": self.max_characters})
        return config


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class ScalarMix(keras.layers.Layer):
    """ELMo's task-specific mix of layers: `gamma * sum_j softmax(s)_j * h_j`.

    Call arguments:
        layer_outputs: float tensor `[batch, num_layers, sequence, dim]`.

    Example:

    >>> import numpy as np
    >>> from layers.elmo import ScalarMix
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


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class Elmo(keras.Model):
    """An ELMo backbone: token or character inputs, forward and backward LSTMs.

    Each token is first embedded: a lookup for `input_type="tokens"`; for
    `input_type="characters"`, its character ids (from the non-trainable
    `TokenCharacters` table, which `set_vocabulary` fills from the WordPiece
    vocabulary) through the `CharacterEncoder` char-CNN. Either way the inputs
    are token ids, so both kinds export and serve alike. Then it is read by a stack of
    left-to-right LSTMs and, separately, a stack of right-to-left LSTMs, with
    residual connections between LSTM layers. Layer 0 is the token vector
    repeated for both directions; layer `j >= 1` is the concatenation of the
    two directions' `j`-th LSTM outputs. The contextual embedding is their
    learned `ScalarMix`. Padded positions (right padding) never influence real
    ones: the backward LSTM starts at each sequence's last real token.

    Args:
        vocabulary_size: int. Number of token ids; the language-model softmax
            predicts these (also with character inputs).
        num_layers: int. LSTM layers per direction. Defaults to 2.
        hidden_dim: int. LSTM units and token vector size. Defaults to 256.
        dropout: float. Dropout between layers. Defaults to 0.1.
        input_type: `"tokens"` or `"characters"`. Defaults to `"tokens"`.
        max_characters: int. Characters per token, begin and end markers
            included (character inputs only). Defaults to 16.
        character_filters: list of `(width, count)` (character inputs only).
            Defaults to `((1, 32), (2, 32), (3, 64), (4, 128), (5, 256))`.

    Inputs (dict): `token_ids` int `[batch, sequence]` and `padding_mask`
    `[batch, sequence]` (1 = real token).

    Outputs (dict): `sequence_output` `[batch, sequence, 2 * hidden_dim]`
    (the mix), `layer_outputs` `[batch, num_layers + 1, sequence, 2 *
    hidden_dim]`, `forward_output` and `backward_output` `[batch, sequence,
    hidden_dim]` (top LSTM of each direction, what the LM softmax reads).

    Example:

    >>> import numpy as np
    >>> from layers.elmo import Elmo
    >>> elmo = Elmo(vocabulary_size=20, num_layers=1, hidden_dim=8)
    >>> outputs = elmo({"token_ids": np.ones((2, 5), "int32"),
    ...                 "padding_mask": np.ones((2, 5), "int32")})
    >>> tuple(outputs["sequence_output"].shape)
    (2, 5, 16)

    Reference:
        - [Peters et al., 2018](https://arxiv.org/abs/1802.05365)
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers=2,
        hidden_dim=256,
        dropout=0.1,
        input_type="tokens",
        max_characters=16,
        character_filters=((1, 32), (2, 32), (3, 64), (4, 128), (5, 256)),
        **kwargs,
    ):
        if input_type not in ("tokens", "characters"):
            raise ValueError(f"`input_type` must be 'tokens' or 'characters', got {input_type!r}.")
        if int(num_layers) < 1:
            raise ValueError(f"`num_layers` must be at least 1, got {num_layers!r}.")
        # === Layers ===
        if input_type == "tokens":
            token_encoder = keras.layers.Embedding(vocabulary_size, hidden_dim, name="token_embedding")
            token_characters = None
        else:
            token_characters = TokenCharacters(vocabulary_size, max_characters, name="token_characters")
            token_encoder = CharacterEncoder(
                hidden_dim, filters=character_filters, name="character_encoder"
            )
        forward_lstms = [
            keras.layers.LSTM(hidden_dim, return_sequences=True, name=f"forward_lstm_{i}")
            for i in range(num_layers)
        ]
        backward_lstms = [
            keras.layers.LSTM(
                hidden_dim, return_sequences=True, go_backwards=True, name=f"backward_lstm_{i}"
            )
            for i in range(num_layers)
        ]
        dropout_layer = keras.layers.Dropout(dropout, name="dropout")
        scalar_mix = ScalarMix(name="scalar_mix")

        # === Functional model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        mask = ops.cast(padding_mask, "bool")
        if token_characters is None:
            tokens = dropout_layer(token_encoder(token_ids))
        else:
            tokens = dropout_layer(token_encoder(token_characters(token_ids)))
        forward, backward = tokens, tokens
        layers = [ops.concatenate([tokens, tokens], axis=-1)]
        for i in range(num_layers):
            new_forward = dropout_layer(forward_lstms[i](forward, mask=mask))
            # go_backwards returns outputs last-position-first: flip back to text order.
            new_backward = dropout_layer(ops.flip(backward_lstms[i](backward, mask=mask), axis=1))
            if i > 0:
                new_forward, new_backward = new_forward + forward, new_backward + backward
            forward, backward = new_forward, new_backward
            layers.append(ops.concatenate([forward, backward], axis=-1))
        layer_outputs = ops.stack(layers, axis=1)  # (B, L+1, T, 2H)
        outputs = {
            "sequence_output": scalar_mix(layer_outputs),
            "layer_outputs": layer_outputs,
            "forward_output": forward,
            "backward_output": backward,
        }
        super().__init__(
            inputs={"token_ids": token_ids, "padding_mask": padding_mask}, outputs=outputs, **kwargs
        )

        # === Config ===
        self.vocabulary_size = int(vocabulary_size)
        self.num_layers = int(num_layers)
        self.hidden_dim = int(hidden_dim)
        self.dropout = float(dropout)
        self.input_type = input_type
        self.max_characters = int(max_characters)
        self.character_filters = tuple(tuple(pair) for pair in character_filters)
        self.token_encoder = token_encoder
        self.token_characters = token_characters

    def set_vocabulary(self, vocabulary):
        """Fills the character table from the token strings (character inputs only)."""
        if self.token_characters is None:
            raise ValueError("`set_vocabulary` needs `input_type='characters'`.")
        if len(vocabulary) != self.vocabulary_size:
            raise ValueError(
                f"The vocabulary has {len(vocabulary)} tokens, the model {self.vocabulary_size}."
            )
        self.token_characters.set_table(character_ids_for_vocabulary(vocabulary, self.max_characters))

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "vocabulary_size": self.vocabulary_size,
            "num_layers": self.num_layers,
            "hidden_dim": self.hidden_dim,
            "dropout": self.dropout,
            "input_type": self.input_type,
            "max_characters": self.max_characters,
            "character_filters": [list(pair) for pair in self.character_filters],
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
