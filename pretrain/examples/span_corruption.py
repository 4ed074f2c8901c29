"""T5's span-corruption denoising objective, built from a corpus.

A window of raw token ids loses about `noise_density` (15%) of its tokens in
spans of mean length `mean_span_length` (3). In the encoder input each
dropped span is replaced by one sentinel token; the target lists each
sentinel followed by the tokens it hides, then `[SEP]`:

    raw:     the cat sat on the mat and purred
    inputs:  the [unused0] on the mat [unused1] purred [SEP]
    targets: [unused0] cat sat [unused1] and [SEP]

Span boundaries follow T5's `random_spans_noise_mask`: the number of noise
tokens is `round(length * noise_density)`, the number of spans
`round(noise_tokens / mean_span_length)` (at least 1), and both the noise and
the kept tokens are cut into that many non-empty runs uniformly at random,
interleaved starting with kept text.

Sentinels are the tokens `[unused0]`, `[unused1]`, ... (google-research/bert
reserves the same names). `add_sentinels` appends the missing ones to the end
of a vocabulary, so existing ids do not move. The WordPiece tokenizer never
produces them from text (it splits `[` off as punctuation);
`saved_models.seq2seq_export` maps the literal text `[unusedK]` in a request
to sentinel `K`. The decoder starts from `[CLS]` and stops at `[SEP]`.

Example:

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> mask = noise_span_mask(20, 0.15, 3.0, rng)
>>> int(mask.sum())
3
>>> inputs, targets = corrupt_spans(
...     np.array([10, 11, 12, 13, 14]), np.array([0, 1, 1, 0, 1], bool),
...     sentinel_ids=[100, 101], end_id=3)
>>> inputs.tolist(), targets.tolist()
([10, 100, 13, 101, 3], [100, 11, 12, 101, 14, 3])
"""

import dataclasses

import numpy as np
import tensorflow as tf

from pretrain.errors import UsageError
from pretrain.examples.token_windows import token_windows
from pretrain.text.tokenizer import CLS_ID, PAD_ID, SEP_ID


@dataclasses.dataclass(frozen=True)
class SpanCorruptionConfig:
    """The data of a seq2seq denoising run (`"data"` in its config.json)."""

    # Corpus files, directories or globs; read with `pretrain.text.corpus.read_documents`.
    corpus: tuple = ()
    corpus_format: str = "lines"
    errors: str = "strict"
    # Document i is held out (evaluation only) when i % heldout_every == heldout_every - 1.
    heldout_every: int = 20
    # Encoder input length in tokens (sentinels and the final [SEP] included).
    input_length: int = 128
    # T5's defaults: 15% of the tokens, spans of 3 tokens on average.
    noise_density: float = 0.15
    mean_span_length: float = 3.0
    # Sentinels [unused0..] appended to the vocabulary; enough for the spans of one window.
    num_sentinels: int = 100
    seed: int = 0

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def validated(self):
        """`self` if every value is in range, else a `UsageError` naming it."""
        if not 0.0 < self.noise_density < 1.0:
            raise UsageError(f"noise density must be in (0, 1), got {self.noise_density}")
        if self.mean_span_length < 1.0:
            raise UsageError(f"mean span length must be at least 1, got {self.mean_span_length}")
        if self.input_length < 8:
            raise UsageError(f"input length must be at least 8, got {self.input_length}")
        if self.heldout_every < 2:
            raise UsageError(f"heldout_every must be at least 2, got {self.heldout_every}")
        spans = _span_count(raw_length(self), self.noise_density, self.mean_span_length)
        if spans > self.num_sentinels:
            raise UsageError(
                f"windows of {self.input_length} tokens need {spans} sentinels; "
                f"raise --num-sentinels (now {self.num_sentinels})"
            )
        return self


def sentinel_tokens(count):
    """`["[unused0]", ..., f"[unused{count - 1}]"]`."""
    return [f"[unused{index}]" for index in range(count)]


def add_sentinels(vocabulary, count):
    """`vocabulary` with the missing sentinel tokens appended at the end."""
    present = set(vocabulary)
    return list(vocabulary) + [t for t in sentinel_tokens(count) if t not in present]


def sentinel_ids(tokenizer, count):
    """Ids of the `count` sentinels in `tokenizer`'s vocabulary."""
    return [tokenizer.token_to_id(token) for token in sentinel_tokens(count)]


def _noise_count(length, noise_density):
    return min(max(int(round(length * noise_density)), 1), length - 1)


def _span_count(length, noise_density, mean_span_length):
    return max(int(round(_noise_count(length, noise_density) / mean_span_length)), 1)


def _corrupted_lengths(length, noise_density, mean_span_length):
    noise = _noise_count(length, noise_density)
    spans = _span_count(length, noise_density, mean_span_length)
    # Inputs: kept tokens + one sentinel per span + [SEP]; targets: noise + sentinels + [SEP].
    return length - noise + spans + 1, noise + spans + 1


def raw_length(config):
    """The longest raw window whose corrupted input fits `config.input_length`."""
    length = config.input_length
    while _corrupted_lengths(length + 1, config.noise_density, config.mean_span_length)[0] <= config.input_length:
        length += 1
    while _corrupted_lengths(length, config.noise_density, config.mean_span_length)[0] > config.input_length:
        length -= 1
    return length


def target_length(config):
    """Decoder length: the longest target a raw window of `raw_length` produces."""
    return _corrupted_lengths(raw_length(config), config.noise_density, config.mean_span_length)[1]


def _random_segmentation(num_items, num_segments, rng):
    """`num_segments` positive run lengths summing to `num_items`, uniformly at random."""
    cuts = np.sort(rng.choice(np.arange(1, num_items), num_segments - 1, replace=False))
    return np.diff(np.concatenate([[0], cuts, [num_items]]))


def noise_span_mask(length, noise_density, mean_span_length, rng):
    """Bool `[length]`: True at tokens to drop, in runs (T5's span layout)."""
    noise = _noise_count(length, noise_density)
    spans = min(_span_count(length, noise_density, mean_span_length), noise, length - noise)
    noise_runs = _random_segmentation(noise, spans, rng)
    kept_runs = _random_segmentation(length - noise, spans, rng)
    runs = np.stack([kept_runs, noise_runs], axis=1).reshape(-1)  # kept, noise, kept, noise, ...
    is_noise = np.tile([False, True], spans)
    return np.repeat(is_noise, runs)


def corrupt_spans(tokens, noise_mask, sentinel_ids, end_id=SEP_ID):
    """`(inputs, targets)`: each noise span becomes the next sentinel in `inputs`,
    and `targets` holds each sentinel followed by its span; both end in `end_id`."""
    span_starts = noise_mask & ~np.concatenate([[False], noise_mask[:-1]])
    span_index = np.cumsum(span_starts) - 1  # which span each noise token is in
    if span_starts.sum() > len(sentinel_ids):
        raise UsageError(f"{span_starts.sum()} noise spans but only {len(sentinel_ids)} sentinels")
    sentinels = np.asarray(sentinel_ids)[np.maximum(span_index, 0)]
    keep_in_inputs = ~noise_mask | span_starts
    inputs = np.where(span_starts, sentinels, tokens)[keep_in_inputs]
    # Targets: a sentinel before the first token of each span, then the span.
    starts_at = np.flatnonzero(span_starts)
    targets = np.insert(tokens[noise_mask], np.searchsorted(np.flatnonzero(noise_mask), starts_at), sentinels[starts_at])
    return np.append(inputs, end_id), np.append(targets, end_id)


def _pad(ids, length):
    padded = np.full((length,), PAD_ID, np.int32)
    padded[: len(ids)] = ids
    return padded


def span_corruption_examples(documents, tokenizer, config, rng):
    """Yields padded numpy example dicts (see `span_corruption_dataset`)."""
    sentinels = sentinel_ids(tokenizer, config.num_sentinels)
    raw, decoder_length = raw_length(config), target_length(config)
    for window in token_windows(documents, tokenizer, raw):
        mask = noise_span_mask(raw, config.noise_density, config.mean_span_length, rng)
        inputs, targets = corrupt_spans(window, mask, sentinels)
        decoder_inputs = np.concatenate([[CLS_ID], targets[:-1]])
        yield {
            "encoder_token_ids": _pad(inputs, config.input_length),
            "encoder_padding_mask": _pad(np.ones_like(inputs), config.input_length),
            "decoder_token_ids": _pad(decoder_inputs, decoder_length),
            "decoder_padding_mask": _pad(np.ones_like(targets), decoder_length),
            "labels": _pad(targets, decoder_length),
        }


def span_corruption_dataset(documents_fn, tokenizer, config, seed=None):
    """An unbatched `tf.data.Dataset` of span-corruption examples.

    Each element is a dict of int32 tensors: `encoder_token_ids` and
    `encoder_padding_mask` `[input_length]`; `decoder_token_ids` (`[CLS]` then
    the targets shifted right), `decoder_padding_mask` and `labels` (the
    targets, `[SEP]`-terminated) `[target_length(config)]`.

    The corpus is read anew every epoch (`documents_fn()` returns a fresh
    iterable of documents) and the spans are drawn anew, from one random
    generator seeded by `seed` (default `config.seed`).

    Args:
        documents_fn: callable returning an iterable of documents.
        tokenizer: `WordPieceTokenizer` whose vocabulary holds the sentinels
            (`add_sentinels`).
        config: `SpanCorruptionConfig`.
        seed: int or None.
    """
    config = config.validated()
    sentinel_ids(tokenizer, config.num_sentinels)  # fail now, not inside tf.data
    rng = np.random.default_rng(config.seed if seed is None else seed)
    decoder_length = target_length(config)
    signature = {
        "encoder_token_ids": tf.TensorSpec((config.input_length,), tf.int32),
        "encoder_padding_mask": tf.TensorSpec((config.input_length,), tf.int32),
        "decoder_token_ids": tf.TensorSpec((decoder_length,), tf.int32),
        "decoder_padding_mask": tf.TensorSpec((decoder_length,), tf.int32),
        "labels": tf.TensorSpec((decoder_length,), tf.int32),
    }
    return tf.data.Dataset.from_generator(
        lambda: span_corruption_examples(documents_fn(), tokenizer, config, rng),
        output_signature=signature,
    )
