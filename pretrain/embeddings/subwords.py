"""fastText subwords: character n-grams of `<word>` hashed with FNV-1a into buckets.

The same hashing runs in Python (training) and in TensorFlow ops (the
exported SavedModel builds vectors of unseen words), and the two agree.
The hash is standard 32-bit FNV-1a over the n-gram's UTF-8 bytes (fastText's
C++ sign-extends bytes above 0x7f, so its bucket ids differ for non-ASCII
n-grams; ours are not meant to load fastText `.bin` files).

Example:

>>> hasher = SubwordHasher(min_n=3, max_n=4, buckets=1000)
>>> hasher.ngrams("cat")
['<ca', 'cat', 'at>', '<cat', 'cat>']
>>> fnv1a("a".encode())
3826002220
>>> hasher.buckets_of("cat") == [fnv1a(g.encode()) % 1000 for g in hasher.ngrams("cat")]
True
"""

import numpy as np
import tensorflow as tf

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619


def fnv1a(data):
    """32-bit FNV-1a hash of `data` (bytes)."""
    value = FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return value


class SubwordHasher:
    """Character n-grams of `<word>` and their hash buckets.

    Args:
        min_n: int. Shortest n-gram, in characters. Defaults to 3.
        max_n: int. Longest n-gram. Defaults to 6.
        buckets: int. Number of hash buckets. Defaults to 2,000,000 (fastText, gensim).
    """

    def __init__(self, min_n=3, max_n=6, buckets=2_000_000):
        if not 1 <= min_n <= max_n:
            raise ValueError(f"need 1 <= min_n <= max_n, got min_n={min_n}, max_n={max_n}.")
        if buckets < 1:
            raise ValueError(f"buckets must be >= 1, got {buckets}.")
        self.min_n, self.max_n, self.buckets = min_n, max_n, buckets

    def get_config(self):
        return {"min_n": self.min_n, "max_n": self.max_n, "buckets": self.buckets}

    def ngrams(self, word):
        marked = f"<{word}>"
        return [
            marked[start : start + n]
            for n in range(self.min_n, self.max_n + 1)
            for start in range(len(marked) - n + 1)
        ]

    def buckets_of(self, word):
        return [fnv1a(ngram.encode("utf-8")) % self.buckets for ngram in self.ngrams(word)]

    def subword_rows(self, words, offset):
        """`(rows, weights)` [len(words), S]: row i is word i itself, then `offset + bucket`
        of each n-gram; weights average them (gensim's fastText input vector)."""
        lists = [[i] + [offset + b for b in self.buckets_of(word)] for i, word in enumerate(words)]
        width = max(len(row) for row in lists)
        rows = np.zeros((len(words), width), np.int32)
        weights = np.zeros((len(words), width), np.float32)
        for i, row in enumerate(lists):
            rows[i, : len(row)] = row
            weights[i, : len(row)] = 1.0 / len(row)
        return rows, weights

    def tf_buckets(self, words):
        """Bucket ids of the n-grams of a batch of strings: int64 RaggedTensor [batch, ngrams]."""
        characters = tf.strings.unicode_split(tf.strings.join(["<", words, ">"]), "UTF-8")  # (B, C)
        ngrams = tf.concat(
            [tf.strings.ngrams(characters, n, separator="") for n in range(self.min_n, self.max_n + 1)],
            axis=1,
        )  # (B, G)
        byte_strings = tf.strings.bytes_split(ngrams.flat_values)  # (M, bytes)
        byte_values = tf.cast(tf.io.decode_raw(byte_strings.flat_values, tf.uint8)[:, 0], tf.int64)
        padded = byte_strings.with_flat_values(byte_values).to_tensor(default_value=-1)  # (M, L)
        initial = tf.fill(tf.shape(padded)[:1], tf.constant(FNV_OFFSET, tf.int64))

        def absorb(value, column):
            mixed = tf.bitwise.bitwise_and(tf.bitwise.bitwise_xor(value, column) * FNV_PRIME, 0xFFFFFFFF)
            return tf.where(column >= 0, mixed, value)

        hashes = tf.foldl(absorb, tf.transpose(padded), initializer=initial)  # (M,)
        return ngrams.with_flat_values(hashes % self.buckets)
