import keras
import numpy as np

from layers import ReplacedTokenSampler


def _sample(sampler, token_ids, positions, logits, original, weights):
    out = sampler(np.array(token_ids), np.array(positions), np.asarray(logits, "float32"), np.array(original),
                  np.asarray(weights, "float32"))
    return {name: keras.ops.convert_to_numpy(value) for name, value in out.items()}


def test_samples_are_written_at_the_masked_positions_only():
    vocabulary = 12
    logits = np.full((2, 3, vocabulary), -1e4, "float32")
    logits[:, :, 6] = 0.0  # the generator is sure: token 6 everywhere
    out = _sample(ReplacedTokenSampler(seed=1), [[2, 4, 4, 9, 3], [2, 7, 4, 8, 3]],
                  [[1, 2, 0], [3, 1, 2]], logits, [[5, 6, 0], [8, 7, 11]], [[1, 1, 0], [1, 1, 1]])
    # Row 0: positions 1 and 2 take the sample; the padded slot (position 0, weight 0) changes nothing.
    np.testing.assert_array_equal(out["token_ids"], [[2, 6, 6, 9, 3], [2, 6, 6, 6, 3]])
    # A sample equal to the original (row 0, position 2: original 6) counts as original.
    np.testing.assert_array_equal(out["replaced"], [[0, 1, 0, 0, 0], [0, 1, 1, 1, 0]])


def test_samples_follow_the_generator_distribution():
    logits = np.log(np.array([[[0.0001, 0.7, 0.3 - 0.0001]]], "float32")).repeat(2000, axis=1)
    sampler = ReplacedTokenSampler(seed=0)
    positions = np.arange(2000)[None, :]
    out = _sample(sampler, np.zeros((1, 2000), "int64"), positions, logits, np.zeros((1, 2000), "int64"),
                  np.ones((1, 2000)))
    share_of_1 = (out["token_ids"] == 1).mean()
    assert 0.66 < share_of_1 < 0.74 and (out["token_ids"] == 0).mean() < 0.01
    np.testing.assert_array_equal(out["replaced"], (out["token_ids"] != 0).astype("int32"))


def test_seeded_samplers_repeat_and_draws_differ():
    logits = np.zeros((1, 50, 1000), "float32")
    arguments = (np.zeros((1, 50), "int64"), np.arange(50)[None], logits, np.zeros((1, 50), "int64"), np.ones((1, 50)))
    first, second = ReplacedTokenSampler(seed=3), ReplacedTokenSampler(seed=3)
    a, b = _sample(first, *arguments), _sample(second, *arguments)
    np.testing.assert_array_equal(a["token_ids"], b["token_ids"])
    assert (a["token_ids"] != _sample(first, *arguments)["token_ids"]).any()


def test_config_round_trip():
    sampler = ReplacedTokenSampler(seed=7, name="sampler")
    assert ReplacedTokenSampler.from_config(sampler.get_config()).get_config() == sampler.get_config()
