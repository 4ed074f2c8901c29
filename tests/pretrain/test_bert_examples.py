"""BERT examples on the Wikipedia sample: pair structure, NSP, full sentences, determinism."""

import random

import numpy as np
import pytest

from pretrain.errors import UsageError
from pretrain.examples.bert_examples import bert_dataset, document_pairs, pooled, truncate_seq_pair
from pretrain.text.tokenizer import CLS_ID, SEP_ID, WordPieceTokenizer
from tests.helpers.pipeline_data import write_wiki_lines


@pytest.fixture(scope="module")
def wiki(wiki_sample_path):
    corpus, vocabulary = write_wiki_lines(wiki_sample_path)
    return corpus, WordPieceTokenizer(vocabulary)


def examples(dataset, limit=None):
    batches = dataset.batch(512).as_numpy_iterator()
    rows = [dict(zip(b, values)) for b in batches for values in zip(*b.values())]
    return rows[:limit]


@pytest.fixture(scope="module")
def nsp_examples(wiki):
    corpus, tokenizer = wiki
    return examples(bert_dataset(corpus, tokenizer, seq_length=128, seed=3))


def test_nsp_pairs_have_bert_layout(nsp_examples):
    assert len(nsp_examples) > 5000
    for example in nsp_examples:
        ids, segments, mask = example["input_ids"], example["segment_ids"], example["input_mask"]
        length = mask.sum()
        assert ids[0] == CLS_ID and (mask[:length] == 1).all() and (ids[length:] == 0).all()
        separators = np.flatnonzero(ids == SEP_ID)
        assert len(separators) == 2 and separators[1] == length - 1
        assert separators[0] >= 2 and separators[1] - separators[0] >= 2  # A and B non-empty
        assert (segments[: separators[0] + 1] == 0).all() and (segments[separators[0] + 1 : length] == 1).all()
        assert (segments[length:] == 0).all()


def test_next_sentence_labels_and_lengths(nsp_examples):
    random_next = np.mean([e["next_sentence_labels"][0] for e in nsp_examples])
    # 50% random, plus every one-sentence chunk (always random in BERT's recipe).
    assert 0.48 < random_next < 0.62, random_next
    lengths = np.array([e["input_mask"].sum() for e in nsp_examples])
    assert lengths.max() == 128 and np.mean(lengths >= 100) > 0.75
    assert 0.03 < np.mean(lengths < 64) < 0.2  # short_seq_prob 0.1 and document ends


def test_masks_in_examples(nsp_examples):
    weights = np.array([e["masked_lm_weights"] for e in nsp_examples])
    lengths = np.array([e["input_mask"].sum() for e in nsp_examples])
    expected = np.minimum(20, np.maximum(1, np.round(lengths * 0.15)))
    assert (weights.sum(axis=1) == expected).all()


def make_document(index, sentences=12, length=3):
    """Sentences with unique token ids: document d, sentence s -> ids 1000*d + 10*s + k."""
    return [np.arange(length) + 1000 * index + 10 * s for s in range(sentences)]


def test_document_pairs_follow_bert_recipe():
    documents = [make_document(d) for d in range(20)]
    rng = random.Random(0)
    covered, pairs = set(), 0
    for document in documents:
        pool = [d for d in documents if d is not document]
        for tokens_a, tokens_b, is_random_next in document_pairs(document, pool, rng, 40, 0.0):
            pairs += 1
            source = {t // 1000 for t in tokens_a}
            assert source == {document[0][0] // 1000} and len(tokens_a) + len(tokens_b) <= 40
            other = {t // 1000 for t in tokens_b}
            assert (other != source) == is_random_next
            covered |= {(t // 1000, t % 1000 // 10) for t in tokens_a + (tokens_b if not is_random_next else [])}
            if not is_random_next:
                assert tokens_a[-1] < tokens_b[0]  # B continues A
    # Unused sentences are put back: every sentence ends up in some A or real B.
    assert len(covered) >= 0.97 * 20 * 12
    assert pairs > 20 * 12 * 3 / 40


def test_document_pool_is_bounded_and_yields_every_document_once():
    documents = [[np.array([d])] for d in range(100)]
    seen = []
    for document, pool in pooled(iter(documents), random.Random(0), pool_size=8):
        assert len(pool) <= 8
        assert len(pool) == 1 or all(other is not document for other in pool)  # random next from others
        seen.append(int(document[0][0]))
    assert sorted(seen) == list(range(100)) and seen != list(range(100))


def test_truncate_seq_pair_trims_the_longer_segment():
    rng = random.Random(1)
    a, b = list(range(10)), list(range(100, 103))
    truncate_seq_pair(a, b, 8, rng)
    assert len(a) == 5 and b == [100, 101, 102]
    assert a == list(range(a[0], a[0] + 5))


def test_full_sentences_without_nsp(wiki):
    corpus, tokenizer = wiki
    rows = examples(bert_dataset(corpus, tokenizer, seq_length=64, nsp=False, masking="whole-word", seed=1))
    lengths = np.array([e["input_mask"].sum() for e in rows])
    assert lengths.max() == 64 and lengths.mean() > 0.75 * 64  # whole sentences packed
    for e, length in zip(rows, lengths):
        assert e["input_ids"][0] == CLS_ID and e["input_ids"][length - 1] == SEP_ID
        assert (e["segment_ids"] == 0).all() and e["next_sentence_labels"][0] == 0


def test_same_seed_same_examples_and_new_masks_each_epoch(wiki):
    corpus, tokenizer = wiki
    first = examples(bert_dataset(corpus, tokenizer, seq_length=64, masking="span", seed=5), 300)
    again_dataset = bert_dataset(corpus, tokenizer, seq_length=64, masking="span", seed=5)
    again = examples(again_dataset, 300)
    for a, b in zip(first, again):
        assert all((a[k] == b[k]).all() for k in a)
    other = examples(bert_dataset(corpus, tokenizer, seq_length=64, masking="span", seed=6), 300)
    assert any((a["input_ids"] != b["input_ids"]).any() for a, b in zip(first, other))
    second_epoch = examples(again_dataset, 300)
    differ = sum((a["masked_lm_positions"] != b["masked_lm_positions"]).any() for a, b in zip(first, second_epoch))
    assert differ > 250


def test_bad_arguments_are_usage_errors(wiki):
    corpus, tokenizer = wiki
    with pytest.raises(UsageError, match="masking mode 'words'"):
        bert_dataset(corpus, tokenizer, masking="words")
    with pytest.raises(UsageError, match="--seq-length 4"):
        bert_dataset(corpus, tokenizer, seq_length=4)

