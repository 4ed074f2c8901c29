"""Masked-LM masking inside the tf.data graph: token, whole-word, n-gram and span modes.

All four modes are one algorithm on a batch of padded token ids [B, T]:

1. Group word-pieces into words (a piece starting with `##` continues the
   previous word; in `token` mode every piece is a word of its own).
2. Cut the word sequence into consecutive *units* whose lengths in words are
   drawn from the mode's distribution: always 1 for `token` and `whole-word`;
   n in 1..`max_ngram` with weight 1/n for `ngram` (ERNIE, TF Model Garden);
   geometric(p=0.2) clipped to 1..10 for `span` (SpanBERT). Units never cross
   a special token, so a span stays inside its segment.
3. Visit units in random order and take each one whose pieces still fit in the
   budget `min(max_predictions, max(1, round(num_tokens * masked_lm_prob)))`
   (google-research/bert's count), skipping units that do not fit, as
   create_pretraining_data.py does. The skip-and-continue greedy is computed
   with a few vectorised rounds of cumulative sums.
4. One 80/10/10 draw per unit: all its pieces become `[MASK]`, all become
   random tokens, or all stay unchanged.

Special tokens ([PAD] [UNK] [CLS] [SEP] [MASK], ids 0..4) are never selected.
tf-text's `RandomItemSelector` + `MaskValuesChooser` (keras-hub's
`MaskedLMMaskGenerator`) budget in items rather than pieces and draw 80/10/10 per
piece, so whole words and n-grams could overflow `max_predictions` or get mixed
decisions; this module keeps their interface ideas with a piece budget.

Randomness is stateless (`seed` is a shape-[2] tensor), so the pipeline is
reproducible for a given seed and draws new masks every epoch.

Example:

>>> import tensorflow as tf
>>> config = MaskingConfig(mode="whole-word", max_predictions=4)
>>> continuation = tf.constant([False] * 7 + [True])  # id 7 is "##ing"
>>> features = mask_tokens(tf.constant([[2, 5, 6, 7, 3, 0]]), continuation, 8, config, seed=[1, 2])
>>> sorted(features)
['input_ids', 'masked_lm_ids', 'masked_lm_positions', 'masked_lm_weights']
>>> features["masked_lm_weights"].shape
TensorShape([1, 4])
"""

import dataclasses

import numpy as np
import tensorflow as tf

from pretrain.text.tokenizer import MASK_ID, PAD_ID, SPECIAL_TOKENS

MASKING_MODES = ("token", "whole-word", "ngram", "span")
# Each skip of a unit that does not fit costs one round; 4 rounds match the
# sequential greedy of create_pretraining_data.py in nearly every sequence.
_SELECTION_ROUNDS = 4


@dataclasses.dataclass
class MaskingConfig:
    """Masked-LM objective settings (defaults: google-research/bert, SpanBERT, ERNIE)."""

    mode: str = "token"  # token | whole-word | ngram | span
    masked_lm_prob: float = 0.15  # BERT: 15% of the tokens are predicted
    max_predictions: int = 20  # BERT's max_predictions_per_seq at seq 128
    mask_token_prob: float = 0.8  # BERT: 80% [MASK]
    random_token_prob: float = 0.1  # BERT: 10% random token, 10% unchanged
    max_ngram: int = 3  # ERNIE / Model Garden: n-grams of 1..3 words, weight 1/n
    span_geometric_p: float = 0.2  # SpanBERT: span length ~ Geometric(0.2)
    max_span: int = 10  # SpanBERT: clipped to 10 words (mean 3.8)

    def __post_init__(self):
        if self.mode not in MASKING_MODES:
            raise ValueError(f"masking mode {self.mode!r} is not one of {', '.join(MASKING_MODES)}")
        if not 0 < self.masked_lm_prob < 1:
            raise ValueError(f"masked_lm_prob must be in (0, 1), got {self.masked_lm_prob}")
        if self.max_predictions < 1 or self.max_ngram < 1 or self.max_span < 1:
            raise ValueError("max_predictions, max_ngram and max_span must be at least 1")
        if self.mask_token_prob + self.random_token_prob > 1:
            raise ValueError("mask_token_prob + random_token_prob must not exceed 1")

    def unit_length_probabilities(self):
        """Probabilities of unit lengths 1, 2, ... in words."""
        if self.mode == "ngram":
            weights = 1.0 / np.arange(1, self.max_ngram + 1)
        elif self.mode == "span":
            lengths = np.arange(1, self.max_span + 1)
            weights = self.span_geometric_p * (1 - self.span_geometric_p) ** (lengths - 1)
        else:
            weights = np.ones(1)
        return weights / weights.sum()


def continuation_mask(vocabulary):
    """Bool [V]: True for pieces that continue a word (`##...`)."""
    return tf.constant([token.startswith("##") for token in vocabulary], dtype=tf.bool)


def select_units(token_ids, is_continuation, config, seed):
    """Chooses the units to predict.

    Args:
        token_ids: int [B, T], padded with 0.
        is_continuation: bool [V], from `continuation_mask`.
        config: `MaskingConfig`.
        seed: int [2], stateless seed.

    Returns:
        `(selected, unit_ids)`: bool [B, T] tokens to predict and int32 [B, T]
        the unit each token belongs to (units numbered from 0 along each row).
    """
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=2)
    batch_size, length = tf.shape(token_ids)[0], tf.shape(token_ids)[1]
    selectable = token_ids >= len(SPECIAL_TOKENS)
    if config.mode == "token":
        word_starts = tf.ones_like(selectable)
    else:
        word_starts = ~tf.gather(is_continuation, token_ids)
    word_index = tf.cumsum(tf.cast(word_starts, tf.int32), axis=1) - 1  # [B, T]

    unit_lengths = _sample_unit_lengths(config, [batch_size, length], seeds[0])  # [B, T] words
    unit_ends = tf.cumsum(unit_lengths, axis=1)  # unit k covers words [ends[k-1], ends[k])
    unit_of_word = tf.searchsorted(unit_ends, word_index, side="right")  # [B, T]
    # Cut units at special tokens, then renumber them 0, 1, ... along each row.
    specials_so_far = tf.cumsum(tf.cast(~selectable, tf.int32), axis=1)
    key = unit_of_word * (length + 1) + specials_so_far
    starts = tf.concat([tf.ones([batch_size, 1], tf.bool), key[:, 1:] != key[:, :-1]], axis=1)
    unit_ids = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1  # [B, T]

    row_offsets = tf.range(batch_size)[:, None] * length
    unit_sizes = tf.reshape(
        tf.math.unsorted_segment_sum(
            tf.cast(selectable, tf.int32), unit_ids + row_offsets, batch_size * length
        ),
        [batch_size, length],
    )  # [B, T]: selectable pieces per unit
    num_tokens = tf.reduce_sum(tf.cast(token_ids != PAD_ID, tf.float32), axis=1)
    budget = tf.minimum(
        config.max_predictions,
        tf.maximum(1, tf.cast(tf.round(num_tokens * config.masked_lm_prob), tf.int32)),
    )  # [B]

    order = tf.argsort(tf.random.stateless_uniform([batch_size, length], seeds[1]), axis=1)
    taken = _greedy_fill(tf.gather(unit_sizes, order, batch_dims=1), budget)
    unit_taken = tf.gather(taken, tf.argsort(order, axis=1), batch_dims=1)  # back to unit order
    selected = tf.gather(unit_taken, unit_ids, batch_dims=1) & selectable
    return selected, unit_ids


def mask_tokens(token_ids, is_continuation, vocabulary_size, config, seed):
    """Masks a batch; returns google-research/bert's masked-LM features.

    Args:
        token_ids: int [B, T], padded with 0.
        is_continuation: bool [V], from `continuation_mask`.
        vocabulary_size: int. Random replacements are drawn from the
            non-special ids `[5, vocabulary_size)`.
        config: `MaskingConfig`.
        seed: int [2], stateless seed.

    Returns:
        dict with `input_ids` [B, T] (masks applied), `masked_lm_positions`,
        `masked_lm_ids` (original ids) and `masked_lm_weights` (1.0 real,
        0.0 padding), each [B, max_predictions].
    """
    token_ids = tf.cast(token_ids, tf.int32)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=3)
    selected, unit_ids = select_units(token_ids, is_continuation, config, seeds[0])
    shape = tf.shape(token_ids)

    action = tf.gather(tf.random.stateless_uniform(shape, seeds[1]), unit_ids, batch_dims=1)
    random_ids = tf.random.stateless_uniform(
        shape, seeds[2], minval=len(SPECIAL_TOKENS), maxval=vocabulary_size, dtype=tf.int32
    )
    replacement = tf.where(
        action < config.mask_token_prob,
        MASK_ID,
        tf.where(action < config.mask_token_prob + config.random_token_prob, random_ids, token_ids),
    )
    input_ids = tf.where(selected, replacement, token_ids)

    length = shape[1]
    positions = tf.sort(tf.where(selected, tf.range(length)[None, :], length), axis=1)
    padding = tf.fill([shape[0], config.max_predictions], length)
    positions = tf.concat([positions, padding], axis=1)[:, : config.max_predictions]  # [B, P]
    weights = positions < length
    positions = tf.where(weights, positions, 0)
    return {
        "input_ids": input_ids,
        "masked_lm_positions": positions,
        "masked_lm_ids": tf.where(weights, tf.gather(token_ids, positions, batch_dims=1), 0),
        "masked_lm_weights": tf.cast(weights, tf.float32),
    }


def _sample_unit_lengths(config, shape, seed):
    probabilities = config.unit_length_probabilities()
    if len(probabilities) == 1:
        return tf.ones(shape, tf.int32)
    logits = tf.math.log(tf.constant(probabilities, tf.float32))[None, :]
    draws = tf.random.stateless_categorical(logits, shape[0] * shape[1], seed, dtype=tf.int32)
    return tf.reshape(draws, shape) + 1


def _greedy_fill(sizes, budget):
    """Bool [B, U]: visiting units in order, take each that still fits the budget.

    `sizes` is [B, U] (units already in visiting order), `budget` [B].
    """
    taken = tf.zeros_like(sizes, dtype=tf.bool)
    used = tf.zeros_like(budget)
    for _ in range(_SELECTION_ROUNDS):
        remaining = (budget - used)[:, None]
        candidate = ~taken & (sizes > 0) & (sizes <= remaining)
        filled = tf.cumsum(tf.where(candidate, sizes, 0), axis=1)
        take = candidate & (filled <= remaining)
        taken |= take
        used += tf.reduce_sum(tf.where(take, sizes, 0), axis=1)
    return taken
