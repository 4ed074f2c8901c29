"""A small encoder–decoder learns to reverse sequences it never saw, decoded with beam search.

The held-out sequences are reserved before training and every training draw
that hits one is drawn again, so no held-out sequence is ever trained on.
`pytest -rP` shows the measured exact match.
"""

import keras
import numpy as np
import tensorflow as tf

from layers.seq2seq_transformer import Seq2SeqTransformer
from pretrain.text.tokenizer import CLS_ID, SEP_ID
from tasks.seq2seq_decoding import decode, trim

FIRST_SYMBOL, NUM_SYMBOLS = 5, 8  # symbols are ids 5..12, after the special tokens
MIN_LENGTH, MAX_LENGTH = 3, 6
HELD_OUT_SEED = 12345


def random_sequence(rng):
    """A tuple of 3..6 random symbols."""
    length = rng.integers(MIN_LENGTH, MAX_LENGTH + 1)
    return tuple(rng.integers(FIRST_SYMBOL, FIRST_SYMBOL + NUM_SYMBOLS, length).tolist())


def held_out_sequences(count, seed=HELD_OUT_SEED):
    """`count` distinct random sequences, sorted; reserved for evaluation."""
    rng = np.random.default_rng(seed)
    reserved = set()
    while len(reserved) < count:
        reserved.add(random_sequence(rng))
    return sorted(reserved)


def training_sequences(rng, count, excluded):
    """`count` random sequences, each drawn again while it is in `excluded`."""
    sequences = []
    while len(sequences) < count:
        sequence = random_sequence(rng)
        if sequence not in excluded:
            sequences.append(sequence)
    return sequences


def reversal_batch(sequences):
    """Sources are the symbols + [SEP]; targets are the reversed symbols + [SEP]."""
    source = np.zeros((len(sequences), MAX_LENGTH + 1), np.int32)
    target = np.zeros((len(sequences), MAX_LENGTH + 1), np.int32)
    for row, symbols in enumerate(sequences):
        source[row, : len(symbols) + 1] = [*symbols, SEP_ID]
        target[row, : len(symbols) + 1] = [*symbols[::-1], SEP_ID]
    decoder_inputs = np.concatenate([np.full((len(sequences), 1), CLS_ID), target[:, :-1]], axis=1)
    inputs = {
        "encoder_token_ids": source,
        "encoder_padding_mask": (source > 0).astype(np.int32),
        "decoder_token_ids": decoder_inputs.astype(np.int32),
        "decoder_padding_mask": (target > 0).astype(np.int32),
    }
    return inputs, target


def train_reverser(steps, held_out, seed=0):
    """Trains on `steps` batches of 64 sequences outside `held_out`; returns (backbone, trained sequences)."""
    keras.utils.set_random_seed(seed)
    backbone = Seq2SeqTransformer(
        vocabulary_size=FIRST_SYMBOL + NUM_SYMBOLS,
        num_layers=2,
        num_heads=2,
        hidden_dim=64,
        intermediate_dim=128,
        dropout=0.0,
        max_sequence_length=16,
    )
    inputs = {name: keras.Input((None,), dtype="int32", name=name) for name in backbone.input}
    logits = backbone.logits(backbone(inputs)["decoder_sequence_output"])
    model = keras.Model(inputs, logits)
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
    )
    rng = np.random.default_rng(seed)
    excluded = set(held_out)
    trained = [training_sequences(rng, 64, excluded) for _ in range(steps)]
    batches = [reversal_batch(sequences) for sequences in trained]
    dataset = tf.data.Dataset.from_tensor_slices(
        ({k: np.stack([b[0][k] for b in batches]) for k in batches[0][0]}, np.stack([b[1] for b in batches]))
    )
    model.fit(dataset, epochs=1, verbose=0)
    return backbone, {sequence for sequences in trained for sequence in sequences}


def exact_matches(backbone, sequences, num_beams):
    """Per sequence: whether beam search decodes exactly its reversal."""
    inputs, _ = reversal_batch(sequences)
    tokens = decode(
        backbone,
        inputs["encoder_token_ids"],
        inputs["encoder_padding_mask"],
        max_length=MAX_LENGTH + 2,
        num_beams=num_beams,
    )
    return [decoded == list(symbols[::-1]) for decoded, symbols in zip(trim(tokens).to_list(), sequences)]


def matches_by_length(matches, sequences):
    """{length: "exact/total"} over the sequences of each length."""
    counts = {}
    for match, sequence in zip(matches, sequences):
        exact, total = counts.get(len(sequence), (0, 0))
        counts[len(sequence)] = (exact + match, total + 1)
    return {length: f"{exact}/{total}" for length, (exact, total) in sorted(counts.items())}


def test_reverses_held_out_sequences_with_beam_search():
    held_out = held_out_sequences(100)
    backbone, trained = train_reverser(steps=500, held_out=held_out)
    assert trained.isdisjoint(held_out)
    matches = exact_matches(backbone, held_out, num_beams=3)
    exact, by_length = np.mean(matches), matches_by_length(matches, held_out)
    print(f"held-out exact match {exact:.2f} (by length {by_length})")
    # Measured 2026-12-04: 1.00 with beam width 3 (and with greedy search) for this run and for
    # training seeds 1, 2, 3 with held-out seeds 12345, 777, 4242; 0.95 leaves room for a few misses.
    assert exact >= 0.95, f"exact match {exact:.2f} (by length {by_length})"
