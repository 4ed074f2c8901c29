import numpy as np
import pytest
import tensorflow as tf

from layers import GptDecoder
from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
from tasks.generation import GenerationConfig, beam_search, filter_logits, greedy_search, random_sample
from tasks.gpt_generator import GptGenerator

# A fixed "language model" over 4 tokens: the next token depends only on the previous one.
TRANSITIONS = np.log(
    np.array(
        [
            [0.1, 0.5, 0.4, 0.0],  # after 0: 1 is likelier than 2 ...
            [0.0, 0.1, 0.1, 0.8],
            [0.0, 0.0, 0.0, 1.0],  # ... but 2 is followed by 3 for sure, so 0-2-3 beats 0-1-3
            [0.25, 0.25, 0.25, 0.25],
        ]
    )
    + 1e-9
).astype("float32")


def markov_next_logits(tokens, cache, index):
    return tf.gather(TRANSITIONS, tokens[:, index - 1]), cache


def prompt(length=3):
    tokens = tf.constant([[0] + [0] * (length - 1)])
    mask = tf.constant([[True] + [False] * (length - 1)])
    return tokens, mask


def test_greedy_takes_the_likeliest_step_and_beam_search_the_likeliest_sequence():
    tokens, mask = prompt()
    assert greedy_search(markov_next_logits, tokens, mask, ()).numpy().tolist() == [[0, 1, 3]]
    assert beam_search(markov_next_logits, tokens, mask, (), num_beams=2).numpy().tolist() == [[0, 2, 3]]
    assert beam_search(markov_next_logits, tokens, mask, (), num_beams=1).numpy().tolist() == [[0, 1, 3]]


def test_end_token_stops_a_row_and_pads_after_it():
    tokens, mask = prompt(5)
    out = greedy_search(markov_next_logits, tokens, mask, (), end_token_id=3).numpy().tolist()
    assert out == [[0, 1, 3, 0, 0]]


def test_filter_logits_keeps_top_k_and_the_nucleus():
    logits = tf.math.log(tf.constant([[0.5, 0.3, 0.15, 0.05]]))
    kept = lambda filtered: (filtered.numpy()[0] > -1e8).tolist()  # noqa: E731
    assert kept(filter_logits(logits, top_k=2)) == [True, True, False, False]
    assert kept(filter_logits(logits, top_p=0.7)) == [True, True, False, False]
    assert kept(filter_logits(logits, top_p=0.5)) == [True, False, False, False]
    assert kept(filter_logits(logits, top_p=0.9)) == [True, True, True, False]


def test_sampling_is_seeded_and_top_k_one_is_greedy():
    tokens, mask = prompt(6)
    greedy = greedy_search(markov_next_logits, tokens, mask, ())
    top_one = random_sample(markov_next_logits, tokens, mask, (), top_k=1, seed=3)
    np.testing.assert_array_equal(top_one, greedy)
    batch = tf.repeat(tokens, 64, axis=0), tf.repeat(mask, 64, axis=0)
    first = random_sample(markov_next_logits, *batch, (), temperature=1.0, seed=7)
    np.testing.assert_array_equal(first, random_sample(markov_next_logits, *batch, (), seed=7))
    # After token 0 the model gives 1 / 2 probability 0.5 / 0.4: the samples show both.
    assert set(first.numpy()[:, 1].tolist()) >= {1, 2}


def test_generation_config_rejects_bad_values():
    with pytest.raises(ValueError, match="strategy"):
        GenerationConfig(strategy="nucleus")
    with pytest.raises(ValueError, match="top_p"):
        GenerationConfig(top_p=0.0)


@pytest.fixture(scope="module")
def tiny_gpt():
    tf.random.set_seed(1)
    words = ["the", "city", "history", "of", "a", "film", "is", "good", "##s"]
    tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + words)
    decoder = GptDecoder(tokenizer.vocabulary_size, 2, 2, 16, 32, dropout=0.0, max_sequence_length=16)
    return decoder, tokenizer


@pytest.mark.parametrize(
    "config",
    [
        GenerationConfig(max_length=10),
        GenerationConfig(max_length=10, strategy="beam", num_beams=3),
        GenerationConfig(max_length=10, strategy="sample", top_k=4, top_p=0.9, temperature=0.8),
    ],
    ids=["greedy", "beam", "sample"],
)
def test_cached_decoding_equals_uncached(tiny_gpt, config):
    generator = GptGenerator(*tiny_gpt, config)
    tokens, mask = generator.encode_prompts(["the history of the city", "a film"])
    cached = generator.generate_ids(tokens, mask)
    np.testing.assert_array_equal(cached, generator.generate_ids(tokens, mask, use_cache=False))
    # Prompts are kept; every row is generated up to max_length or its end token.
    np.testing.assert_array_equal(cached.numpy()[mask.numpy()], tokens.numpy()[mask.numpy()])


def test_gpt_beam_width_one_equals_greedy_and_text_comes_back(tiny_gpt):
    greedy = GptGenerator(*tiny_gpt, GenerationConfig(max_length=10))
    beam = GptGenerator(*tiny_gpt, GenerationConfig(max_length=10, strategy="beam", num_beams=1))
    tokens, mask = greedy.encode_prompts(["the history of the city", "a film"])
    np.testing.assert_array_equal(greedy.generate_ids(tokens, mask), beam.generate_ids(tokens, mask))
    texts = greedy(["the history of the city", "a film"]).numpy()
    assert texts.shape == (2,) and all(isinstance(text, bytes) for text in texts)


# Token 1 is the end token. After the start token 0, ending now (0.5) beats a
# word (0.48), and after the word the model ends for sure: the short hypothesis
# 0-1 has the higher raw score, log 0.5 > log 0.48 + log 0.99, but only barely.
END_ID = 1
SHORT_OR_LONG = np.log(
    np.array(
        [
            [0.0, 0.5, 0.48, 0.02],  # after the start token
            [0.25, 0.25, 0.25, 0.25],  # after the end token (never expanded)
            [0.0, 0.99, 0.0, 0.01],  # after the word
            [0.0, 0.99, 0.0, 0.01],
        ]
    )
    + 1e-9
).astype("float32")


def short_or_long_next_logits(tokens, cache, index):
    return tf.gather(SHORT_OR_LONG, tokens[:, index - 1]), cache


def test_length_penalty_zero_ranks_by_raw_score_and_a_large_one_prefers_the_longer_hypothesis():
    tokens, mask = prompt(5)
    decode = lambda penalty: beam_search(  # noqa: E731
        short_or_long_next_logits, tokens, mask, (), num_beams=2, end_token_id=END_ID, length_penalty=penalty
    ).numpy().tolist()
    assert decode(0.0) == [[0, 1, 0, 0, 0]]
    # GNMT: -0.693 / 1 < -0.744 / (7 / 6) once length_penalty >= 1.
    assert decode(1.0) == [[0, 2, 1, 0, 0]]
    assert decode(0.2) == [[0, 1, 0, 0, 0]]


def test_length_penalty_zero_keeps_the_raw_best_beam_and_one_beam_stays_greedy():
    tokens, mask = prompt(3)
    raw = beam_search(markov_next_logits, tokens, mask, (), num_beams=2).numpy().tolist()
    assert raw == [[0, 2, 3]]
    assert beam_search(markov_next_logits, tokens, mask, (), num_beams=2, length_penalty=0.0).numpy().tolist() == raw
    tokens, mask = prompt(5)
    greedy = greedy_search(short_or_long_next_logits, tokens, mask, (), end_token_id=END_ID)
    one_beam = beam_search(
        short_or_long_next_logits, tokens, mask, (), num_beams=1, end_token_id=END_ID, length_penalty=1.0
    )
    np.testing.assert_array_equal(one_beam, greedy)


def test_length_penalty_is_applied_per_row_with_prompts_of_different_lengths():
    # Row 0 starts at the start token; row 1's prompt already holds the word, so it must end.
    tokens = tf.constant([[0, 0, 0, 0], [0, 2, 0, 0]])
    mask = tf.constant([[True, False, False, False], [True, True, False, False]])
    out = beam_search(
        short_or_long_next_logits, tokens, mask, (), num_beams=2, end_token_id=END_ID, length_penalty=1.0
    ).numpy().tolist()
    assert out == [[0, 2, 1, 0], [0, 2, 1, 0]]
    with pytest.raises(ValueError, match="length_penalty"):
        beam_search(short_or_long_next_logits, tokens, mask, (), length_penalty=-1.0)
    with pytest.raises(ValueError, match="length_penalty"):
        GenerationConfig(length_penalty=-0.5)
