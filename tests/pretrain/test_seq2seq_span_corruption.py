"""T5 span corruption: span statistics, exact reconstruction, sentinels, the tf.data pipeline."""

import numpy as np
import pytest

from pretrain.errors import UsageError
from pretrain.examples.span_corruption import (
    SpanCorruptionConfig,
    add_sentinels,
    corrupt_spans,
    noise_span_mask,
    raw_length,
    sentinel_ids,
    span_corruption_dataset,
    target_length,
)
from pretrain.text.tokenizer import CLS_ID, SEP_ID, SPECIAL_TOKENS, WordPieceTokenizer

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]


def uncorrupt(inputs, targets, sentinels):
    """Puts each target span back in place of its sentinel."""
    spans, current = {}, None
    for token in targets[:-1]:
        if token in sentinels:
            current = token
            spans[current] = []
        else:
            spans[current].append(token)
    restored = []
    for token in inputs[:-1]:
        restored.extend(spans[token] if token in sentinels else [token])
    return restored


def test_noise_mask_has_t5_counts_and_starts_with_kept_text():
    rng = np.random.default_rng(0)
    span_lengths = []
    for _ in range(300):
        mask = noise_span_mask(100, 0.15, 3.0, rng)
        assert mask.sum() == 15 and not mask[0]
        starts = np.flatnonzero(mask & ~np.concatenate([[False], mask[:-1]]))
        assert len(starts) == 5
        span_lengths.append(mask.sum() / len(starts))
    assert np.mean(span_lengths) == pytest.approx(3.0)


def test_corruption_round_trips_to_the_original_window():
    rng = np.random.default_rng(1)
    sentinels = list(range(1000, 1020))
    for _ in range(50):
        tokens = rng.integers(5, 900, 57)
        mask = noise_span_mask(57, 0.15, 3.0, rng)
        inputs, targets = corrupt_spans(tokens, mask, sentinels)
        assert inputs[-1] == SEP_ID and targets[-1] == SEP_ID
        assert uncorrupt(list(inputs), list(targets), set(sentinels)) == list(tokens)
        used = [t for t in inputs if t in sentinels]
        assert used == sentinels[: len(used)]  # sentinels in order, one per span


def test_lengths_fit_the_configured_input():
    config = SpanCorruptionConfig(input_length=128)
    raw = raw_length(config)
    assert raw > 128  # dropped spans make room for more raw text
    noise = round(raw * 0.15)
    spans = round(noise / 3)
    assert raw - noise + spans + 1 <= 128 < (raw + 1) - round((raw + 1) * 0.15) + round(round((raw + 1) * 0.15) / 3) + 1
    assert target_length(config) == noise + spans + 1


def test_sentinels_are_appended_once_at_the_end():
    vocabulary = list(SPECIAL_TOKENS) + WORDS
    extended = add_sentinels(vocabulary, 3)
    assert extended == vocabulary + ["[unused0]", "[unused1]", "[unused2]"]
    assert add_sentinels(extended, 3) == extended
    tokenizer = WordPieceTokenizer(extended)
    assert sentinel_ids(tokenizer, 3) == [13, 14, 15]
    assert tokenizer.tokenize_flat(["[unused0]"]).to_list()[0] != [13]  # text never yields a sentinel
    with pytest.raises(UsageError, match="unused3"):
        sentinel_ids(tokenizer, 4)


def test_too_few_sentinels_is_a_usage_error():
    with pytest.raises(UsageError, match="--num-sentinels"):
        SpanCorruptionConfig(input_length=512, num_sentinels=5).validated()
    with pytest.raises(UsageError, match="noise density"):
        SpanCorruptionConfig(noise_density=1.5).validated()


def test_dataset_examples_are_teacher_forcing_pairs():
    rng = np.random.default_rng(2)
    documents = [[" ".join(rng.choice(WORDS, 40))] for _ in range(6)]
    tokenizer = WordPieceTokenizer(add_sentinels(list(SPECIAL_TOKENS) + WORDS, 10))
    config = SpanCorruptionConfig(input_length=24, num_sentinels=10)
    examples = list(span_corruption_dataset(lambda: documents, tokenizer, config).as_numpy_iterator())
    assert len(examples) == 6 * 40 // raw_length(config)
    sentinels = set(sentinel_ids(tokenizer, 10))
    for example in examples:
        labels, decoder_inputs = example["labels"], example["decoder_token_ids"]
        real = example["decoder_padding_mask"].astype(bool)
        assert decoder_inputs[0] == CLS_ID
        np.testing.assert_array_equal(decoder_inputs[1:][real[1:]], labels[:-1][real[1:]])
        inputs = example["encoder_token_ids"][example["encoder_padding_mask"].astype(bool)]
        restored = uncorrupt(list(inputs), list(labels[real]), sentinels)
        assert len(restored) == raw_length(config)
        assert set(restored) <= set(range(5, 5 + len(WORDS)))
