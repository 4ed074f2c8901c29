"""Masked-LM statistics over thousands of sequences, for every masking mode."""


import numpy as np
import pytest
import tensorflow as tf

from pretrain.examples.masking import MASKING_MODES, MaskingConfig, mask_tokens, select_units
from pretrain.text.tokenizer import CLS_ID, MASK_ID, SEP_ID

VOCABULARY_SIZE = 1000
CONTINUATION = np.arange(VOCABULARY_SIZE) >= 700  # ids 700.. are "##" pieces


def make_batch(batch_size, length, seed=0):
    """[CLS] A [SEP] B [SEP] padding, with ~30% continuation pieces."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, VOCABULARY_SIZE, size=(batch_size, length)).astype(np.int32)
    real = rng.integers(length // 2, length + 1, size=batch_size)
    for row, n in enumerate(real):
        specials = [0, n // 2, n - 1]
        ids[row, specials] = [CLS_ID, SEP_ID, SEP_ID]
        ids[row, n:] = 0
        after = [p + 1 for p in specials[:2]]
        ids[row, after] = np.where(CONTINUATION[ids[row, after]], 5, ids[row, after])  # words start after specials
    return ids


def words_of(ids):
    """Word index of each token of a row (specials are words of their own)."""
    return np.cumsum(~CONTINUATION[ids] | (ids < 5)) - 1


@pytest.fixture(scope="module")
def batch():
    return make_batch(2000, 128)


def run(batch, mode, seed=(1, 2), **overrides):
    config = MaskingConfig(mode=mode, **overrides)
    features = mask_tokens(tf.constant(batch), tf.constant(CONTINUATION), VOCABULARY_SIZE, config, seed)
    return config, {k: v.numpy() for k, v in features.items()}


@pytest.mark.parametrize("mode", MASKING_MODES)
def test_rates_budget_and_specials(batch, mode):
    config, out = run(batch, mode)
    num_tokens = (batch != 0).sum(axis=1)
    budget = np.minimum(20, np.maximum(1, np.round(num_tokens * 0.15)))
    predicted = out["masked_lm_weights"].sum(axis=1)
    assert (predicted <= budget).all()
    fill = {"token": 1.0, "whole-word": 0.99, "ngram": 0.97, "span": 0.95}[mode]
    assert predicted.sum() >= fill * budget.sum()

    weights = out["masked_lm_weights"] > 0
    positions = out["masked_lm_positions"]
    original = np.take_along_axis(batch, positions, axis=1)
    assert (out["masked_lm_ids"][weights] == original[weights]).all()
    assert (original[weights] >= 5).all(), "a special token was selected"
    assert (out["masked_lm_ids"][~weights] == 0).all() and (positions[~weights] == 0).all()
    assert all((np.diff(p[w]) > 0).all() for p, w in zip(positions, weights))

    changed_to = np.take_along_axis(out["input_ids"], positions, axis=1)[weights]
    masked = (changed_to == MASK_ID).mean()
    unchanged = (changed_to == original[weights]).mean()
    tolerance = 0.015 if mode in ("token", "whole-word") else 0.03  # fewer units, fewer draws
    assert abs(masked - 0.8) < tolerance and abs(unchanged - 0.1) < tolerance, (masked, unchanged)
    unselected = np.ones_like(batch, dtype=bool)
    np.put_along_axis(unselected, positions, ~weights, axis=1)
    np.put_along_axis(unselected, np.where(weights, positions, 0), False, axis=1)
    unselected[:, 0] = True
    assert (out["input_ids"][unselected] == batch[unselected]).all()


@pytest.mark.parametrize("mode", ["whole-word", "ngram", "span"])
def test_words_are_kept_whole(batch, mode):
    _, out = run(batch, mode)
    for ids, positions, weights in zip(batch, out["masked_lm_positions"], out["masked_lm_weights"]):
        words = words_of(ids)
        chosen = set(positions[weights > 0])
        for word in set(words[list(chosen)]):
            assert set(np.flatnonzero(words == word)) <= chosen


def selected_unit_lengths(batch, mode, **overrides):
    """Length in words of every selected unit, and the config."""
    config = MaskingConfig(mode=mode, **overrides)
    selected, units = select_units(tf.constant(batch), tf.constant(CONTINUATION), config, tf.constant([3, 4]))
    lengths = []
    for ids, chosen, unit in zip(batch, selected.numpy(), units.numpy()):
        word_starts = np.bincount(unit[chosen], weights=~CONTINUATION[ids][chosen])
        lengths.extend(word_starts[np.unique(unit[chosen])].astype(int))
    return config, np.array(lengths)


def test_ngram_lengths_follow_one_over_n():
    batch = make_batch(800, 512, seed=1)
    config, lengths = selected_unit_lengths(batch, "ngram", max_predictions=77)
    observed = np.bincount(lengths, minlength=4)[1:] / len(lengths)
    expected = config.unit_length_probabilities()
    assert len(lengths) > 20_000 and lengths.max() == 3
    assert np.abs(observed - expected).max() < 0.03, (observed, expected)


def test_span_lengths_follow_clipped_geometric():
    batch = make_batch(800, 512, seed=2)
    config, lengths = selected_unit_lengths(batch, "span", max_predictions=77)
    observed = np.bincount(lengths, minlength=11)[1:] / len(lengths)
    expected = config.unit_length_probabilities()
    assert lengths.min() >= 1 and lengths.max() == 10
    assert abs(expected @ np.arange(1, 11) - 3.8) < 0.01  # SpanBERT's mean
    # Filling the budget skips spans that no longer fit, so single words are
    # over-represented (30% instead of 22%; mean 3.4 instead of 3.8 words).
    assert 3.2 < lengths.mean() < 3.9
    assert 0.5 * np.abs(observed - expected).sum() < 0.1, (observed, expected)
    assert np.abs(observed - expected)[1:].max() < 0.025
    assert (np.diff(observed) < 0).all()


@pytest.mark.parametrize("mode", ["ngram", "span"])
def test_one_mask_decision_per_unit(batch, mode):
    config, out = run(batch, mode, seed=(5, 6))
    # mask_tokens selects with the first of three seeds split from its seed.
    selection_seed = tf.random.experimental.stateless_split(tf.constant([5, 6], tf.int64), num=3)[0]
    selected, units = select_units(tf.constant(batch), tf.constant(CONTINUATION), config, selection_seed)
    uniform, multi_piece = 0, 0
    for ids, masked, unit, chosen in zip(batch, out["input_ids"], units.numpy(), selected.numpy()):
        assert not ((masked != ids) & ~chosen).any()  # the same selection as mask_tokens
        decision = np.where(masked == MASK_ID, 0, np.where(masked == ids, 1, 2))
        for u in np.unique(unit[chosen]):
            members = decision[chosen & (unit == u)]
            multi_piece += len(members) > 1
            uniform += len(members) > 1 and len(set(members)) == 1
    # A random replacement equal to the original token looks "unchanged" (p = 1/995).
    assert multi_piece > 3000 and uniform >= 0.995 * multi_piece


def test_same_seed_same_masks_other_seed_other_masks(batch):
    _, first = run(batch[:50], "whole-word", seed=(7, 8))
    _, again = run(batch[:50], "whole-word", seed=(7, 8))
    _, other = run(batch[:50], "whole-word", seed=(7, 9))
    assert all((first[k] == again[k]).all() for k in first)
    assert not (first["masked_lm_positions"] == other["masked_lm_positions"]).all()


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="masking mode 'words'"):
        MaskingConfig(mode="words")
    with pytest.raises(ValueError, match="masked_lm_prob"):
        MaskingConfig(masked_lm_prob=1.5)

