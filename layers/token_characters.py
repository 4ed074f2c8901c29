"""The character ids of each token of a WordPiece vocabulary, as a fixed lookup table."""

import keras
import numpy as np
from keras import ops


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
