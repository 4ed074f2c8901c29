"""Pre-split words (and per-word tags) -> BERT inputs with one label per first word piece."""

import tensorflow as tf
import tensorflow_text as tf_text

from tasks.wordpiece_preprocessor import WordPiecePreprocessor


class TaggingPreprocessor(WordPiecePreprocessor):
    """Tokenizes each word into WordPiece pieces and labels the first piece.

    A sentence of words [w1, w2] with tags [t1, t2] becomes
    `[CLS] w1a w1b w2 [SEP] [PAD]...` with labels `[0, t1, 0, t2, 0, 0...]` and
    weights `[0, 1, 0, 1, 0, 0...]`: the loss and accuracy count each word
    once (as google-research/bert's NER recipe). Sentences longer than
    `seq_length - 2` pieces are truncated.

    Args:
        tokenizer: a `pretrain.text.tokenizer.WordPieceTokenizer`.
        seq_length: int. Packed length. Defaults to 128.

    Call arguments:
        words: ragged string tensor [B, W] (or a list of lists of str).
        tags: optional ragged int tensor [B, W].

    Returns:
        `(inputs, first_piece)` with the int32 [B, T] model inputs and the
        int32 [B, T] first-piece mask; with `tags`, also `labels` int32 [B, T].

    Example:
    >>> from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
    >>> tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + ["new", "york", "##er"])
    >>> inputs, first, labels = TaggingPreprocessor(tokenizer, 6)([["new", "yorker"]], [[1, 2]])
    >>> inputs["token_ids"].numpy().tolist(), labels.numpy().tolist()
    ([[2, 5, 6, 7, 3, 0]], [[0, 1, 2, 0, 0, 0]])
    """

    def __init__(self, tokenizer, seq_length=128, name="tagging_preprocessor"):
        super().__init__(tokenizer, seq_length, name=name)
        self.unk_id = tokenizer.token_to_id("[UNK]")

    def __call__(self, words, tags=None):
        words = tf.ragged.constant(words) if isinstance(words, list) else words
        word_pieces = self.tokenizer.tokenize_flat(words.flat_values)  # [total words, pieces]
        # A word the normalizer deletes entirely still gets one piece: [UNK].
        empty = tf.equal(word_pieces.row_lengths(), 0)
        word_pieces = _fill_empty(word_pieces, empty, self.unk_id)
        first = tf.equal(tf.ragged.range(word_pieces.row_lengths()), 0)

        def per_sentence(per_word):  # [total words, pieces] -> [B, pieces]
            return words.with_flat_values(per_word).merge_dims(1, 2)

        pieces = per_sentence(word_pieces)
        first_piece = per_sentence(tf.cast(first, tf.int32))
        keep = self.seq_length - 2
        token_ids, _ = tf_text.combine_segments([pieces[:, :keep]], self.cls_id, self.sep_id)
        token_ids, padding_mask = tf_text.pad_model_inputs(token_ids, self.seq_length)
        inputs = {
            "token_ids": tf.cast(token_ids, tf.int32),
            "segment_ids": tf.zeros_like(tf.cast(token_ids, tf.int32)),
            "padding_mask": tf.cast(padding_mask, tf.int32),
        }
        first_piece = self._pack(first_piece[:, :keep])
        if tags is None:
            return inputs, first_piece
        tags = tf.ragged.constant(tags) if isinstance(tags, list) else tags
        piece_tags = tf.repeat(tf.cast(tags.flat_values, tf.int32), word_pieces.row_lengths())
        piece_tags = piece_tags * tf.cast(first.flat_values, tf.int32)
        return inputs, first_piece, self._pack(per_sentence(word_pieces.with_flat_values(piece_tags))[:, :keep])

    def _pack(self, values):
        """Ragged [B, pieces] -> [B, seq_length] with 0 under [CLS], [SEP] and padding."""
        zeros = tf.zeros_like(values[:, :1])
        padded, _ = tf_text.pad_model_inputs(tf.concat([zeros, values, zeros], axis=1), self.seq_length)
        return tf.cast(padded, tf.int32)


def _fill_empty(pieces, empty, fill_id):
    lengths = tf.where(empty, tf.ones_like(pieces.row_lengths()), pieces.row_lengths())
    dense = pieces.to_tensor(default_value=fill_id)
    dense = tf.cond(tf.shape(dense)[1] > 0, lambda: dense, lambda: tf.fill([tf.shape(dense)[0], 1], fill_id))
    return tf.RaggedTensor.from_tensor(dense, lengths=lengths)
