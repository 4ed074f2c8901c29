"""ELMo backbone and its layers: round trips, direction causality, padding, char-CNN, layer mix."""

import keras
import numpy as np
import pytest

from layers.character_encoder import CharacterEncoder
from layers.elmo import Elmo
from layers.scalar_mix import ScalarMix
from layers.token_characters import TokenCharacters, character_ids_for_vocabulary
from tests.helpers.layer_testing import run_layer_test

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "##s", "sat", "on", "mat", "a"]


def test_character_encoder_layer():
    run_layer_test(
        CharacterEncoder,
        {"output_dim": 8, "filters": ((1, 4), (3, 6)), "num_highway_layers": 1},
        {"character_ids": np.random.default_rng(0).integers(0, 259, (2, 3, 7)).astype("int32")},
        expected_output_shape=(2, 3, 8),
    )


def test_character_encoder_ignores_padding_characters():
    encoder = CharacterEncoder(output_dim=8, filters=((2, 4),))
    short = np.array([[[1, 100, 101, 2, 0, 0]]], "int32")
    np.testing.assert_allclose(encoder(short), encoder(short[:, :, :4]), atol=1e-6)
    empty = encoder(np.zeros((1, 1, 6), "int32"))
    np.testing.assert_allclose(empty, encoder.projection(np.zeros((1, 4), "float32"))[None], atol=1e-6)


def test_scalar_mix_is_softmax_weighted_sum_times_gamma():
    mix = run_layer_test(
        ScalarMix, {}, {"layer_outputs": np.random.rand(2, 3, 4, 5).astype("float32")}, (2, 4, 5)
    )
    layers = np.random.default_rng(1).random((2, 3, 4, 5)).astype("float32")
    mix.layer_weights.assign([0.0, 1.0, 2.0])
    mix.gamma.assign(0.5)
    weights = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    expected = 0.5 * np.einsum("l,bltd->btd", weights, layers)
    np.testing.assert_allclose(mix(layers), expected, rtol=1e-5)


def test_token_characters_table():
    table = character_ids_for_vocabulary(VOCABULARY, 6)
    assert table[0].tolist() == [0] * 6
    assert table[7].tolist() == [1, ord("#") + 3, ord("#") + 3, ord("s") + 3, 2, 0]
    assert table[5].tolist()[-2:] == [2, 0]
    lookup = run_layer_test(
        TokenCharacters,
        {"vocabulary_size": len(VOCABULARY), "max_characters": 6},
        {"token_ids": np.array([[5, 7]], "int32")},
        (1, 2, 6),
        run_training_step=False,
    )
    lookup.set_table(table)
    assert np.asarray(lookup(np.array([[7]], "int32")))[0, 0].tolist() == table[7].tolist()
    with pytest.raises(ValueError, match="does not match"):
        lookup.set_table(table[:3])


def small_elmo(input_type="tokens"):
    keras.utils.set_random_seed(0)
    elmo = Elmo(
        vocabulary_size=len(VOCABULARY), num_layers=2, hidden_dim=8, dropout=0.0,
        input_type=input_type, max_characters=6, character_filters=((1, 4), (2, 4)),
    )
    if input_type == "characters":
        elmo.set_vocabulary(VOCABULARY)
    return elmo


def inputs(token_ids, lengths=None):
    token_ids = np.asarray(token_ids, "int32")
    mask = np.ones_like(token_ids)
    for row, length in enumerate(lengths or []):
        mask[row, length:] = 0
    return {"token_ids": token_ids, "padding_mask": mask}


@pytest.mark.parametrize("input_type", ["tokens", "characters"])
def test_each_direction_sees_only_its_side(input_type):
    elmo = small_elmo(input_type)
    base = inputs([[5, 6, 8, 9, 10, 11]])
    changed = inputs([[5, 6, 8, 5, 10, 11]])  # position 3 differs
    before, after = elmo(base), elmo(changed)
    np.testing.assert_allclose(after["forward_output"][:, :3], before["forward_output"][:, :3], atol=1e-6)
    np.testing.assert_allclose(after["backward_output"][:, 4:], before["backward_output"][:, 4:], atol=1e-6)
    assert np.abs(np.asarray(after["forward_output"][:, 3:]) - np.asarray(before["forward_output"][:, 3:])).max() > 1e-5
    assert np.abs(np.asarray(after["backward_output"][:, :4]) - np.asarray(before["backward_output"][:, :4])).max() > 1e-5


def test_right_padding_does_not_change_real_positions():
    elmo = small_elmo()
    alone = elmo(inputs([[5, 6, 8, 9]]))
    padded = elmo(inputs([[5, 6, 8, 9, 11, 11], [5, 6, 8, 9, 10, 10]], lengths=[4, 6]))
    for name in ("forward_output", "backward_output", "sequence_output"):
        np.testing.assert_allclose(padded[name][0, :4], alone[name][0], atol=1e-5)


def test_layer_outputs_and_mix():
    elmo = small_elmo()
    outputs = elmo(inputs([[5, 6, 8]]))
    layers = np.asarray(outputs["layer_outputs"])
    assert layers.shape == (1, 3, 3, 16)
    np.testing.assert_allclose(layers[:, 0, :, :8], layers[:, 0, :, 8:])  # token layer, both halves
    np.testing.assert_allclose(layers[:, 2, :, :8], outputs["forward_output"], atol=1e-6)
    np.testing.assert_allclose(outputs["sequence_output"], layers.mean(axis=1), atol=1e-5)  # initial mix: uniform, gamma 1


@pytest.mark.parametrize("input_type", ["tokens", "characters"])
def test_keras_file_round_trip(tmp_path, input_type):
    elmo = small_elmo(input_type)
    x = inputs([[5, 6, 8, 7]])
    path = str(tmp_path / "elmo.keras")
    elmo.save(path)
    reloaded = keras.models.load_model(path)
    assert reloaded.get_config() == elmo.get_config()
    np.testing.assert_allclose(reloaded(x)["sequence_output"], elmo(x)["sequence_output"], atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="input_type"):
        Elmo(vocabulary_size=10, input_type="bytes")
    with pytest.raises(ValueError, match="num_layers"):
        Elmo(vocabulary_size=10, num_layers=0)
    with pytest.raises(ValueError, match="input_type='characters'"):
        small_elmo("tokens").set_vocabulary(VOCABULARY)
