"""fastText subwords: hashing agrees between Python and TensorFlow; unseen words get vectors."""

import numpy as np
import tensorflow as tf

from pretrain.embeddings.fasttext import FastTextConfig, train_fasttext
from pretrain.embeddings.subwords import SubwordHasher, fnv1a
from pretrain.embeddings.word_corpus import EncodedCorpus


def test_fnv1a_reference_values():
    # Published 32-bit FNV-1a test vectors.
    assert fnv1a(b"") == 0x811C9DC5
    assert fnv1a(b"a") == 0xE40C292C
    assert fnv1a(b"foobar") == 0xBF9CF968


def test_tensorflow_buckets_equal_python_buckets():
    hasher = SubwordHasher(3, 6, 2_000_003)
    words = ["cat", "naïve", "a", "东京大学", "internationalisation", ""]
    ragged = hasher.tf_buckets(tf.constant(words)).to_list()
    assert ragged == [hasher.buckets_of(word) for word in words]
    assert hasher.ngrams("ab") == ["<ab", "ab>", "<ab>"]


def test_unseen_words_get_the_mean_of_their_ngram_vectors(tmp_path):
    corpus = EncodedCorpus.build([["walking talking walked talked walks"]] * 30, str(tmp_path))
    config = FastTextConfig(dim=16, min_count=1, epochs=2, sample=0, buckets=5000, architecture="skipgram")
    vectors = train_fasttext(config, corpus, verbose=False)
    assert "talks" not in vectors
    buckets = vectors.hasher.buckets_of("talks")
    np.testing.assert_allclose(vectors["talks"], vectors.bucket_vectors[buckets].mean(axis=0), rtol=1e-6)
    # Words sharing n-grams share vector parts: 'talks' is closer to 'walks'/'talked' than random.
    assert np.linalg.norm(vectors["talks"]) > 0
    # A vocabulary word's vector is the mean of its own row and its n-gram rows.
    trainer_table = vectors.trainer.input_table.numpy()
    index = vectors.words.index("walking")
    rows = [index] + [len(vectors.words) + b for b in vectors.hasher.buckets_of("walking")]
    np.testing.assert_allclose(vectors["walking"], trainer_table[rows].mean(axis=0), rtol=1e-5, atol=1e-7)
