"""The base of the task preprocessors: a WordPiece tokenizer, a packed length, and a config that rebuilds them."""

import tensorflow as tf

from pretrain.text.tokenizer import WordPieceTokenizer


class WordPiecePreprocessor(tf.Module):
    """Holds the tokenizer (its lookup table tracked through this module) and the packed length.

    Subclasses define `__call__`; `get_config` / `from_config` store the
    vocabulary itself, so a saved task model needs no vocabulary file.

    Args:
        tokenizer: a `pretrain.text.tokenizer.WordPieceTokenizer`.
        seq_length: int. Length of every packed sequence, [CLS] and [SEP]
            included; 3 or more. Defaults to 128.

    Example:
    >>> from pretrain.text.tokenizer import SPECIAL_TOKENS
    >>> preprocessor = WordPiecePreprocessor(WordPieceTokenizer(list(SPECIAL_TOKENS) + ["a"]), seq_length=8)
    >>> rebuilt = WordPiecePreprocessor.from_config(preprocessor.get_config())
    >>> rebuilt.seq_length, rebuilt.cls_id, rebuilt.sep_id
    (8, 2, 3)
    """

    def __init__(self, tokenizer, seq_length=128, name=None):
        super().__init__(name=name)
        if seq_length < 3:
            raise ValueError(
                f"seq_length={seq_length}: needs room for [CLS], [SEP] and at least one token; use 3 or more."
            )
        self.tokenizer = tokenizer
        self.seq_length = seq_length
        self.cls_id = tokenizer.token_to_id("[CLS]")
        self.sep_id = tokenizer.token_to_id("[SEP]")

    def get_config(self):
        """Everything needed to rebuild it: vocabulary list, tokenizer options, length."""
        return {
            "vocabulary": list(self.tokenizer.vocabulary),
            "lowercase": self.tokenizer.lowercase,
            "strip_accents": self.tokenizer.strip_accents,
            "seq_length": self.seq_length,
        }

    @classmethod
    def from_config(cls, config):
        tokenizer = WordPieceTokenizer(
            config["vocabulary"], lowercase=config["lowercase"], strip_accents=config["strip_accents"]
        )
        return cls(tokenizer, seq_length=config["seq_length"])
