"""Raw strings (or string pairs) -> BERT model inputs, in the TensorFlow graph."""

import tensorflow as tf
import tensorflow_text as tf_text

from tasks.wordpiece_preprocessor import WordPiecePreprocessor

# What a call with texts and pairs of different batch sizes is told.
SIZES_DIFFER = "text and text_pair must hold the same number of strings"


class TextPreprocessor(WordPiecePreprocessor):
    """Packs raw strings, or pairs of strings, into fixed-length BERT inputs.

    Every step is a TensorFlow or tf-text op (WordPiece tokenization,
    round-robin truncation, `[CLS] a [SEP] b [SEP]` packing, padding), so the
    same object runs eagerly, inside `tf.data.Dataset.map` and inside an
    exported SavedModel signature; the tokenizer's lookup table is tracked
    through this module, so saving and loading keep it.

    Args:
        tokenizer: a `pretrain.text.tokenizer.WordPieceTokenizer`: it
            has `tokenize_flat(strings)` and `token_to_id(token)`.
        seq_length: int. Length of every packed sequence, special tokens
            included. Defaults to 128.

    Call arguments:
        texts: string tensor [B] (or a Python list of str).
        pairs: optional string tensor [B]: second segments, as many as
            `texts` (a `ValueError`, or in a graph an `InvalidArgumentError`,
            says so otherwise).

    Returns:
        dict of int32 [B, seq_length] tensors: `token_ids`, `segment_ids`
        (0 for `[CLS] a [SEP]`, 1 for `b [SEP]`), `padding_mask` (1 = real).

    Example:
    >>> from pretrain.text.tokenizer import WordPieceTokenizer, SPECIAL_TOKENS
    >>> tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + ["a", "b"])
    >>> inputs = TextPreprocessor(tokenizer, seq_length=6)(["a b"], ["b"])
    >>> inputs["token_ids"].numpy().tolist()
    [[2, 5, 6, 3, 6, 3]]
    >>> inputs["segment_ids"].numpy().tolist()
    [[0, 0, 0, 0, 1, 1]]
    """

    def __init__(self, tokenizer, seq_length=128, name="text_preprocessor"):
        super().__init__(tokenizer, seq_length, name=name)

    def __call__(self, texts, pairs=None):
        texts = tf.convert_to_tensor(texts, tf.string)
        segments = [self._pieces(texts)]
        if pairs is not None:
            texts, pairs = same_size(texts, tf.convert_to_tensor(pairs, tf.string))
            segments = [self._pieces(texts), self._pieces(pairs)]
        room = self.seq_length - len(segments) - 1  # [CLS] + one [SEP] each
        segments = tf_text.RoundRobinTrimmer(max_seq_length=room).trim(segments)
        token_ids, segment_ids = tf_text.combine_segments(
            segments, start_of_sequence_id=self.cls_id, end_of_segment_id=self.sep_id
        )
        token_ids, padding_mask = tf_text.pad_model_inputs(token_ids, self.seq_length)
        segment_ids, _ = tf_text.pad_model_inputs(segment_ids, self.seq_length)
        return {
            "token_ids": tf.cast(token_ids, tf.int32),
            "segment_ids": tf.cast(segment_ids, tf.int32),
            "padding_mask": tf.cast(padding_mask, tf.int32),
        }

    def _pieces(self, strings):
        return tf.cast(self.tokenizer.tokenize_flat(strings), tf.int32)


def same_size(texts, pairs):
    """`(texts, pairs)`, checked to hold the same number of strings.

    tf-text's `RoundRobinTrimmer` reads past the shorter batch when the two
    differ (garbage ids eagerly, a killed process in a graph), so a mismatch
    stops before it: a `ValueError` when both sizes are known (eager calls),
    else an `InvalidArgumentError` when the graph runs (a SavedModel signature).
    """
    sizes = texts.shape[0], pairs.shape[0]
    if None not in sizes:
        if sizes[0] != sizes[1]:
            raise ValueError(f"{SIZES_DIFFER} (texts: {sizes[0]}, pairs: {sizes[1]})")
        return texts, pairs
    check = tf.debugging.assert_equal(tf.shape(texts), tf.shape(pairs), message=SIZES_DIFFER)
    with tf.control_dependencies([check]):
        return tf.identity(texts), tf.identity(pairs)
