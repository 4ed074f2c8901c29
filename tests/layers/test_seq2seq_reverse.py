"""A small encoder–decoder learns to reverse sequences, decoded with beam search."""

import keras
import numpy as np
import tensorflow as tf

from layers.seq2seq_transformer import Seq2SeqTransformer
from pretrain.text.tokenizer import CLS_ID, SEP_ID
from tasks.seq2seq_decoding import decode, trim

FIRST_SYMBOL, NUM_SYMBOLS = 5, 8  # symbols are ids 5..12, after the special tokens
MIN_LENGTH, MAX_LENGTH = 3, 6


def reversal_batch(rng, batch_size):
    """Sources of 3..6 random symbols + [SEP]; targets are the reversed symbols + [SEP]."""
    lengths = rng.integers(MIN_LENGTH, MAX_LENGTH + 1, batch_size)
    source = np.zeros((batch_size, MAX_LENGTH + 1), np.int32)
    target = np.zeros((batch_size, MAX_LENGTH + 1), np.int32)
    for row, length in enumerate(lengths):
        symbols = rng.integers(FIRST_SYMBOL, FIRST_SYMBOL + NUM_SYMBOLS, length)
        source[row, : length + 1] = np.append(symbols, SEP_ID)
        target[row, : length + 1] = np.append(symbols[::-1], SEP_ID)
    decoder_inputs = np.concatenate([np.full((batch_size, 1), CLS_ID), target[:, :-1]], axis=1)
    inputs = {
        "encoder_token_ids": source,
        "encoder_padding_mask": (source > 0).astype(np.int32),
        "decoder_token_ids": decoder_inputs.astype(np.int32),
        "decoder_padding_mask": (target > 0).astype(np.int32),
    }
    return inputs, target


def train_reverser(steps, seed=0):
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
    batches = [reversal_batch(rng, 64) for _ in range(steps)]
    dataset = tf.data.Dataset.from_tensor_slices(
        ({k: np.stack([b[0][k] for b in batches]) for k in batches[0][0]}, np.stack([b[1] for b in batches]))
    )
    model.fit(dataset, epochs=1, verbose=0)
    return backbone


def test_reverses_held_out_sequences_exactly_with_beam_search():
    backbone = train_reverser(steps=500)
    inputs, target = reversal_batch(np.random.default_rng(12345), 100)
    tokens = decode(
        backbone, inputs["encoder_token_ids"], inputs["encoder_padding_mask"], max_length=MAX_LENGTH + 2, num_beams=3
    )
    decoded = trim(tokens).to_list()
    expected = [list(row[: list(row).index(SEP_ID)]) for row in target]
    exact = np.mean([d == e for d, e in zip(decoded, expected)])
    assert exact == 1.0, f"exact match {exact:.2f}"
