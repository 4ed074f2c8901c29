"""ELMo examples: a corpus cut into windows of WordPiece ids, each the input and the target of both directions.

>>> from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
>>> tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + ["a", "b", "c"])
>>> dataset = elmo_dataset(lambda: [["a b c a", "b c"]], tokenizer, seq_length=3)
>>> [targets.numpy().tolist() for _, targets in dataset]
[[5, 6, 7], [5, 6, 7]]
"""

import numpy as np
import tensorflow as tf

from pretrain.examples.token_windows import token_windows


def elmo_dataset(documents_fn, tokenizer, seq_length):
    """Unbatched `(inputs, token_ids)` windows of `seq_length` tokens; read anew each epoch."""

    def windows():
        for window in token_windows(documents_fn(), tokenizer, seq_length):
            yield {"token_ids": window, "padding_mask": np.ones_like(window)}, window

    spec = tf.TensorSpec((seq_length,), tf.int32)
    return tf.data.Dataset.from_generator(
        windows, output_signature=({"token_ids": spec, "padding_mask": spec}, spec)
    )


