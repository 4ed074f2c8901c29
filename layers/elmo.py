"""ELMo: a bidirectional LSTM language model whose layers mix into contextual embeddings."""

import keras
from keras import ops

from layers.character_encoder import CharacterEncoder
from layers.scalar_mix import ScalarMix
from layers.token_characters import TokenCharacters, character_ids_for_vocabulary


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
