"""fastText word vectors: word2vec whose input vector is the mean of the word's own row
and the rows of its hashed character n-grams, so unseen words get vectors too.

Example:

>>> import tempfile
>>> from pretrain.embeddings.word_corpus import EncodedCorpus
>>> corpus = EncodedCorpus.build([["the cats sat on the mats"]] * 20, tempfile.mkdtemp())
>>> config = FastTextConfig(dim=8, min_count=1, epochs=1, sample=0, buckets=1000)
>>> vectors = train_fasttext(config, corpus, verbose=False)
>>> vectors["cat"].shape  # not in the vocabulary: built from '<ca', 'cat', 'at>', ...
(8,)
"""

import dataclasses

import numpy as np

from pretrain.embeddings.subwords import SubwordHasher
from pretrain.embeddings.word2vec import Word2VecConfig, Word2VecTrainer
from pretrain.embeddings.word_vectors import WordVectors
from pretrain.errors import UsageError


@dataclasses.dataclass
class FastTextConfig(Word2VecConfig):
    """Word2VecConfig plus the subword hashing; defaults as gensim's `FastText`."""

    min_n: int = 3
    max_n: int = 6
    buckets: int = 2_000_000

    def validate(self):
        super().validate()
        if not 1 <= self.min_n <= self.max_n:
            raise UsageError(f"need 1 <= --min-n <= --max-n, got min_n={self.min_n}, max_n={self.max_n}.")


class SubwordVectors(WordVectors):
    """WordVectors whose out-of-vocabulary words average their n-gram bucket vectors.

    Args:
        words, vectors: as WordVectors (vectors already include the subwords).
        hasher: SubwordHasher.
        bucket_vectors: float32 [hasher.buckets, dim].
    """

    def __init__(self, words, vectors, hasher, bucket_vectors):
        super().__init__(words, vectors, subword_vector=self._from_buckets)
        self.hasher = hasher
        self.bucket_vectors = bucket_vectors

    def _from_buckets(self, word):
        buckets = self.hasher.buckets_of(word)
        if not buckets:
            return np.zeros(self.dim, np.float32)
        return self.bucket_vectors[buckets].mean(axis=0)


def train_fasttext(config, corpus, strategy=None, log_dir=None, verbose=True):
    """Train on an EncodedCorpus; returns SubwordVectors (trainer history on `.trainer`)."""
    hasher = SubwordHasher(config.min_n, config.max_n, config.buckets)
    probe = Word2VecTrainer.vocabulary_for(config, corpus)
    rows, weights = hasher.subword_rows(probe.words, offset=len(probe))
    trainer = Word2VecTrainer(
        config, corpus, strategy, subwords=(rows, weights), input_rows=len(probe) + config.buckets, log_dir=log_dir
    )
    trainer.train(verbose=verbose)
    table = trainer.input_table.numpy()
    word_vectors = np.einsum("vs,vsd->vd", weights, table[rows])
    vectors = SubwordVectors(probe.words, word_vectors, hasher, table[len(probe) :])
    vectors.trainer = trainer
    return vectors
