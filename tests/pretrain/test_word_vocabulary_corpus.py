"""Word tokenisation, vocabulary, subsampling and the encoded corpus of the word-vector trainers."""

import numpy as np
import pytest

from pretrain.embeddings.huffman import huffman_paths
from pretrain.embeddings.word_corpus import EncodedCorpus
from pretrain.embeddings.word_tokenize import tokenize_words
from pretrain.embeddings.word_vocabulary import WordVocabulary
from pretrain.errors import UsageError


def test_tokenize_keeps_every_word_of_long_texts():
    # gensim#2880: texts over 10,000 tokens were silently truncated.
    text = " ".join(f"Word{i % 7}x" for i in range(25_000))
    assert len(tokenize_words(text)) == 50_000
    assert tokenize_words("Über-cool, café's 3D") == ["über", "cool", "café", "s", "d"]


def test_vocabulary_min_count_max_vocab_and_order():
    counts = {"b": 3, "a": 5, "c": 3, "d": 1}
    vocabulary = WordVocabulary.from_counts(counts, min_count=2, max_vocab=2)
    assert vocabulary.words == ["a", "b"]  # ties keep first-seen order: b before c
    with pytest.raises(UsageError, match="min-count=9"):
        WordVocabulary.from_counts(counts, min_count=9)


def test_keep_probability_formula_and_negative_distribution():
    vocabulary = WordVocabulary.from_counts({"x": 900, "y": 100}, min_count=1)
    frequency = np.array([0.9, 0.1])
    expected = np.minimum(1, np.sqrt(1e-3 / frequency) + 1e-3 / frequency)
    np.testing.assert_allclose(vocabulary.keep_probabilities(1e-3), expected, rtol=1e-6)
    weights = np.array([900, 100]) ** 0.75
    np.testing.assert_allclose(vocabulary.negative_distribution(), weights / weights.sum(), rtol=1e-6)


def test_encoded_corpus_chunks_subsample_and_keep_documents(tmp_path):
    documents = [["the cat sat"], ["the dog"], [""], ["the end the end"]]
    corpus = EncodedCorpus.build(documents, str(tmp_path))
    assert (corpus.num_tokens, corpus.num_documents) == (9, 3)
    vocabulary = WordVocabulary.from_counts(corpus.counts, min_count=2)  # the, end
    id_map = corpus.vocabulary_map(vocabulary)
    chunks = list(corpus.chunks(id_map, chunk_tokens=4))
    ids = np.concatenate([c[0] for c in chunks])
    documents_of = np.concatenate([c[1] for c in chunks])
    assert [vocabulary.words[i] for i in ids] == ["the", "the", "the", "end", "the", "end"]
    assert documents_of.tolist() == [0, 1, 2, 2, 2, 2]
    assert sum(c[2] for c in chunks) == 9
    # Subsampling keeps each token with its probability.
    keep = np.array([0.0, 1.0], np.float32)
    kept = np.concatenate([c[0] for c in corpus.chunks(id_map, 4, keep, np.random.default_rng(0))])
    assert set(kept.tolist()) == {1}


def test_huffman_codes_are_prefix_free_and_short_for_frequent_words():
    counts = [50, 20, 10, 10, 5, 3, 1, 1]
    points, codes, mask = huffman_paths(counts)
    lengths = mask.sum(axis=1)
    assert lengths[0] <= lengths[-1]
    words = ["".join(str(int(c)) for c in codes[i, : int(lengths[i])]) for i in range(len(counts))]
    assert all(not b.startswith(a) for a in words for b in words if a != b)
    assert points.max() < len(counts) - 1
