"""UniLM masks: each mode gives exactly the intended visibility."""

import numpy as np
import pytest

from layers import UnilmAttentionMask
from layers.unilm_attention_mask import BIDIRECTIONAL, LEFT_TO_RIGHT, SEQ2SEQ
from tests.helpers.layer_testing import run_layer_test


def visibility_by_definition(length, source_length, mode, sequence):
    """Brute force from the UniLM paper: may query i see key j?"""
    visible = np.zeros((sequence, sequence), bool)
    for i in range(sequence):
        for j in range(length):  # keys past `length` are padding: never visible
            if mode == BIDIRECTIONAL:
                visible[i, j] = True
            elif mode == LEFT_TO_RIGHT:
                visible[i, j] = j <= i
            elif i < source_length:  # seq2seq, source query: the source only
                visible[i, j] = j < source_length
            else:  # seq2seq, target query: the source, and the target up to itself
                visible[i, j] = j < source_length or j <= i
    return visible


def random_batch(rng, batch, sequence):
    lengths = rng.integers(3, sequence + 1, batch)
    source_lengths = np.array([rng.integers(2, length) for length in lengths])
    padding_mask = (np.arange(sequence)[None, :] < lengths[:, None]).astype("int32")
    segment_ids = ((np.arange(sequence)[None, :] >= source_lengths[:, None]) & (padding_mask == 1)).astype(
        "int32"
    )
    modes = rng.integers(0, 3, batch).astype("int32")
    return lengths, source_lengths, padding_mask, segment_ids, modes


def test_every_mode_matches_the_definition_on_random_batches():
    rng = np.random.default_rng(0)
    lengths, source_lengths, padding_mask, segment_ids, modes = random_batch(rng, batch=64, sequence=12)
    masks = np.asarray(
        UnilmAttentionMask()(padding_mask=padding_mask, segment_ids=segment_ids, attention_mode=modes)
    )
    assert masks.shape == (64, 12, 12) and masks.dtype == bool
    assert set(modes) == {BIDIRECTIONAL, LEFT_TO_RIGHT, SEQ2SEQ}
    for row in range(64):
        expected = visibility_by_definition(lengths[row], source_lengths[row], modes[row], 12)
        real = slice(0, lengths[row])  # rows of padding queries are never read
        np.testing.assert_array_equal(masks[row, real], expected[real], err_msg=f"mode {modes[row]}")


@pytest.mark.parametrize("bad", ["padding_mask", "attention_mode"])
def test_wrong_rank_names_the_argument(bad):
    inputs = {
        "padding_mask": np.ones((2, 4), "int32"),
        "segment_ids": np.zeros((2, 4), "int32"),
        "attention_mode": np.zeros((2,), "int32"),
    }
    inputs[bad] = inputs[bad][..., None]
    with pytest.raises(ValueError, match=bad):
        UnilmAttentionMask()(**inputs)


def test_layer_contract():
    rng = np.random.default_rng(1)
    _, _, padding_mask, segment_ids, modes = random_batch(rng, batch=4, sequence=6)
    run_layer_test(
        UnilmAttentionMask,
        {},
        {"padding_mask": padding_mask, "segment_ids": segment_ids, "attention_mode": modes},
        expected_output_shape=(4, 6, 6),
        expected_num_trainable_weights=0,
        run_training_step=False,
    )


def encoder_outputs(encoder, token_ids, segment_ids, padding_mask, mode):
    inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
    modes = np.full((len(token_ids),), mode, "int32")
    mask = UnilmAttentionMask()(padding_mask=padding_mask, segment_ids=segment_ids, attention_mode=modes)
    return np.asarray(encoder.call_with_attention_mask(inputs, mask)["sequence_output"])


@pytest.fixture(scope="module")
def encoder_and_batch():
    from layers import BertEncoder

    encoder = BertEncoder.from_size("tiny", vocabulary_size=60, max_sequence_length=16, dropout=0.0)
    rng = np.random.default_rng(2)
    token_ids = rng.integers(5, 60, (3, 10)).astype("int32")
    padding_mask = np.ones((3, 10), "int32")
    padding_mask[:, 8:] = 0
    segment_ids = np.zeros((3, 10), "int32")
    segment_ids[:, 4:8] = 1  # source = positions 0-3, target = 4-7, padding 8-9
    return encoder, token_ids, segment_ids, padding_mask


def changed_at(token_ids, position):
    changed = token_ids.copy()
    changed[:, position] = 5 + (changed[:, position] - 4) % 55
    return changed


def test_bidirectional_mode_is_the_plain_encoder(encoder_and_batch):
    encoder, token_ids, segment_ids, padding_mask = encoder_and_batch
    plain = encoder({"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask})
    masked = encoder_outputs(encoder, token_ids, segment_ids, padding_mask, BIDIRECTIONAL)
    np.testing.assert_allclose(masked, np.asarray(plain["sequence_output"]), atol=1e-6)


def test_left_to_right_mode_never_looks_ahead(encoder_and_batch):
    encoder, token_ids, segment_ids, padding_mask = encoder_and_batch
    before = encoder_outputs(encoder, token_ids, segment_ids, padding_mask, LEFT_TO_RIGHT)
    after = encoder_outputs(encoder, changed_at(token_ids, 5), segment_ids, padding_mask, LEFT_TO_RIGHT)
    np.testing.assert_allclose(after[:, :5], before[:, :5], atol=1e-6)
    assert np.abs(after[:, 5:8] - before[:, 5:8]).max() > 1e-3


def test_seq2seq_mode_source_is_bidirectional_and_blind_to_the_target(encoder_and_batch):
    encoder, token_ids, segment_ids, padding_mask = encoder_and_batch
    before = encoder_outputs(encoder, token_ids, segment_ids, padding_mask, SEQ2SEQ)
    # A target token changes neither the source nor the target before it.
    after = encoder_outputs(encoder, changed_at(token_ids, 6), segment_ids, padding_mask, SEQ2SEQ)
    np.testing.assert_allclose(after[:, :6], before[:, :6], atol=1e-6)
    assert np.abs(after[:, 6:8] - before[:, 6:8]).max() > 1e-3
    # The last source token reaches every source position (bidirectional) and the target.
    after = encoder_outputs(encoder, changed_at(token_ids, 3), segment_ids, padding_mask, SEQ2SEQ)
    assert np.abs(after[:, :3] - before[:, :3]).max(axis=-1).min() > 1e-4
    assert np.abs(after[:, 4:8] - before[:, 4:8]).max(axis=-1).min() > 1e-4
