"""WordPiece vocabulary training and the in-graph WordPiece tokenizer.

Training uses the `tokenizers` package (Rust, a keras-hub dependency): on the
Wikipedia sample it trains an 8,000-token vocabulary in about a second, where
keras-hub's `compute_word_piece_vocabulary` (tf-text's `bert_vocab_from_dataset`)
takes 93 s and 0.8 GB (docs/pipeline.md has the measurement). Tokenizing is done
with ops that TF Serving links (StringLower, NormalizeUTF8, StaticRegexReplace,
RegexSplitWithOffsets, WordpieceTokenizeWithOffsets), so the same tokenizer runs
in tf.data and inside exported SavedModels.

Every vocabulary we train starts with `SPECIAL_TOKENS`, ids 0..4, and is saved
as a BERT `vocab.txt` (one token per line, continuation pieces prefixed `##`).

Example:

>>> vocabulary = train_vocabulary([["The cat sat on the mat."]], vocab_size=60)
>>> vocabulary[:5]
['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
>>> tokenizer = WordPieceTokenizer(vocabulary)
>>> tokenizer.detokenize(tokenizer.tokenize_flat(["The cat sat."])).numpy()
array([b'the cat sat .'], dtype=object)
"""

import tensorflow as tf
import tensorflow_text as tf_text

from pretrain.errors import UsageError

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(len(SPECIAL_TOKENS))

# BERT's pre-tokenization: split on whitespace, keep punctuation and CJK
# ideographs as words of their own (as tf_text.BasicTokenizer and the
# `tokenizers` BertPreTokenizer + BertNormalizer do).
_CJK = (
    r"\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B73F}"
    r"\x{2B740}-\x{2B81F}\x{2B820}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}"
)
_PUNCTUATION = r"!-/:-@\[-`{-~\p{P}"
_KEEP_AS_WORD = rf"[{_PUNCTUATION}{_CJK}]"
_SPLIT = r"[\s\p{Zs}]+|" + _KEEP_AS_WORD
# Characters the BERT normalizer deletes: controls and format characters
# (tab, newline and carriage return are whitespace, not controls), U+FFFD, NUL.
_DELETED = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\p{Cf}\p{Co}\x{FFFD}]"
# Longer words become [UNK] (BERT: 100 characters; equal for ASCII words).
_MAX_BYTES_PER_WORD = 100


def train_vocabulary(
    documents, vocab_size, lowercase=True, strip_accents=True, min_frequency=2, max_characters=None
):
    """Trains a WordPiece vocabulary; returns its tokens, `SPECIAL_TOKENS` first.

    Args:
        documents: iterable of documents (lists of sentences), e.g. from
            `pretrain.text.corpus.read_documents`. Streamed, never held in memory.
        vocab_size: int. Number of tokens, special tokens included.
        lowercase: bool. Lower-case text before splitting. Defaults to True.
        strip_accents: bool. Remove combining accents (NFD, then drop
            category Mn). Defaults to True.
        min_frequency: int. Pieces seen fewer times are not merged into the
            vocabulary. Defaults to 2.
        max_characters: int. The most frequent characters kept as the
            alphabet; the rest become `[UNK]`. Defaults to half the vocabulary
            (at least 1,000), which leaves room for Chinese characters.
    """
    from tokenizers import BertWordPieceTokenizer

    if vocab_size <= len(SPECIAL_TOKENS):
        raise UsageError(
            f"vocab size {vocab_size} must be larger than the {len(SPECIAL_TOKENS)} special tokens"
        )
    trainer = BertWordPieceTokenizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=strip_accents, lowercase=lowercase
    )
    sentences = (sentence for document in documents for sentence in document)
    trainer.train_from_iterator(
        sentences,
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        limit_alphabet=max_characters or max(1000, vocab_size // 2),
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
        wordpieces_prefix="##",
    )
    # The trainer breaks frequency ties in a different order on every run; WordPiece
    # lookup does not depend on the order, so sort for a reproducible vocab.txt.
    return list(SPECIAL_TOKENS) + sorted(set(trainer.get_vocab()) - set(SPECIAL_TOKENS))


def save_vocabulary(tokens, path):
    """Writes a BERT `vocab.txt`: one token per line, line number = id."""
    with open(path, "w", encoding="utf-8") as file:
        file.writelines(f"{token}\n" for token in tokens)


def load_vocabulary(path):
    """Reads a `vocab.txt`; checks it has our special tokens at ids 0..4."""
    try:
        with open(path, encoding="utf-8") as file:
            tokens = [line.rstrip("\r\n") for line in file]
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read vocabulary {path}: {error}") from None
    missing = [t for t in SPECIAL_TOKENS if t not in tokens]
    if missing:
        raise UsageError(
            f"vocabulary {path} lacks {', '.join(missing)}; train one with `pretrain vocab` "
            "or add the special tokens"
        )
    return tokens


class WordPieceTokenizer(tf.Module):
    """BERT WordPiece tokenizer built from tf-text ops, usable in tf.data and SavedModels.

    Normalizes (deletes control characters; optionally lower-cases; optionally
    strips accents with NFD and removal of category Mn), splits on whitespace,
    punctuation and CJK ideographs, then applies greedy longest-match-first
    WordPiece. A word with no match becomes `[UNK]`. The vocabulary lookup table
    is an attribute, so `tf.saved_model.save` tracks it.

    Args:
        vocabulary: list of str or path of a `vocab.txt`. Must contain
            `SPECIAL_TOKENS`.
        lowercase: bool. Case-fold the text. Defaults to True.
        strip_accents: bool. Remove combining accents. Defaults to True.

    Example:

    >>> tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + ["un", "##aff", "##able", "!"])
    >>> tokenizer.tokenize(["Unaffable!"]).to_list()
    [[[5, 6, 7], [8]]]
    >>> tokenizer.tokenize_flat(["Unaffable"]).to_list()
    [[5, 6, 7]]
    """

    def __init__(self, vocabulary, lowercase=True, strip_accents=True, name=None):
        super().__init__(name=name)
        if isinstance(vocabulary, str):
            vocabulary = load_vocabulary(vocabulary)
        missing = [t for t in SPECIAL_TOKENS if t not in vocabulary]
        if missing:
            raise UsageError(f"vocabulary lacks the special tokens {', '.join(missing)}")
        self.vocabulary = list(vocabulary)
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.vocabulary_size = len(self.vocabulary)
        self._index = {token: index for index, token in enumerate(self.vocabulary)}
        self.id_to_token_table = tf.constant(self.vocabulary, dtype=tf.string)
        self.lookup_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                keys=self.id_to_token_table,
                values=tf.range(self.vocabulary_size, dtype=tf.int64),
            ),
            default_value=self._index["[UNK]"],
        )
        self._wordpiece = tf_text.WordpieceTokenizer(
            self.lookup_table,
            suffix_indicator="##",
            max_bytes_per_word=_MAX_BYTES_PER_WORD,
            max_chars_per_token=None,
            token_out_type=tf.int64,
            unknown_token="[UNK]",
        )

    def token_to_id(self, token):
        """The id of `token`; `UsageError` if it is not in the vocabulary."""
        if token not in self._index:
            raise UsageError(f"token {token!r} is not in the vocabulary")
        return self._index[token]

    def normalize(self, strings):
        """Applies the normalization (controls, case, accents) to a string tensor."""
        strings = tf.strings.regex_replace(tf.convert_to_tensor(strings, tf.string), _DELETED, "")
        if self.lowercase:
            strings = tf.strings.lower(strings, encoding="utf-8")
        if self.strip_accents:
            strings = tf_text.normalize_utf8(strings, "NFD")
            strings = tf.strings.regex_replace(strings, r"\p{Mn}", "")
        return strings

    def split_words(self, strings):
        """Splits normalized strings into words: [batch] -> ragged [batch, words]."""
        words, _, _ = tf_text.regex_split_with_offsets(strings, _SPLIT, _KEEP_AS_WORD)
        return words

    def tokenize(self, strings):
        """Strings [batch] -> int32 ragged [batch, words, pieces]."""
        words = self.split_words(self.normalize(strings))
        pieces = self._wordpiece.tokenize(words)
        return tf.cast(pieces, tf.int32)

    def tokenize_flat(self, strings):
        """Strings [batch] -> int32 ragged [batch, pieces]."""
        return self.tokenize(strings).merge_dims(1, 2)

    def detokenize(self, ids):
        """Ids [batch, pieces] (ragged or dense) -> strings [batch], `##` pieces joined, [PAD] dropped."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(ids))
        ids = tf.ragged.boolean_mask(ids, ids != PAD_ID)
        tokens = tf.gather(self.id_to_token_table, ids)
        text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
        return tf.strings.regex_replace(text, r" ##", "")
