import numpy as np
import pytest

from layers import GptDecoder

CONFIG = dict(vocabulary_size=30, num_layers=2, num_heads=2, hidden_dim=8, intermediate_dim=16, max_sequence_length=12)
TOKEN_IDS = np.array([[5, 7, 9, 3, 11, 3], [6, 5, 3, 0, 0, 0]], "int32")
PADDING_MASK = (TOKEN_IDS > 0).astype("int32")
PADDING_MASK[0] = 1


def logits_of(decoder, token_ids, padding_mask=None):
    padding_mask = np.ones_like(token_ids) if padding_mask is None else padding_mask
    hidden = decoder({"token_ids": token_ids, "padding_mask": padding_mask}, training=False)
    return np.asarray(decoder.logits(hidden))


def test_output_t_never_depends_on_inputs_after_t():
    decoder = GptDecoder(**CONFIG)
    logits = logits_of(decoder, TOKEN_IDS)
    for position in range(5):
        changed = TOKEN_IDS.copy()
        changed[:, position + 1 :] = (changed[:, position + 1 :] + 7) % 30
        changed_logits = logits_of(decoder, changed)
        np.testing.assert_allclose(changed_logits[:, : position + 1], logits[:, : position + 1], atol=1e-5)
        assert not np.allclose(changed_logits[:, position + 1 :], logits[:, position + 1 :])


def test_changing_padded_tokens_never_changes_real_outputs():
    decoder = GptDecoder(**CONFIG)
    logits = logits_of(decoder, TOKEN_IDS, PADDING_MASK)
    changed = TOKEN_IDS.copy()
    changed[1, 3:] = [21, 22, 23]
    changed_logits = logits_of(decoder, changed, PADDING_MASK)
    real = PADDING_MASK.astype(bool)
    np.testing.assert_allclose(changed_logits[real], logits[real], atol=1e-5)


def test_cached_decoding_gives_the_logits_of_a_full_forward_pass():
    decoder = GptDecoder(**CONFIG)
    prompt, full_length = 3, 6
    token_ids = TOKEN_IDS[:1]
    full_logits = logits_of(decoder, token_ids)
    cache = decoder.init_cache(batch_size=1, max_length=8)
    prompt_logits, _, cache = decoder.call_with_cache(token_ids[:, :prompt], cache, 0)
    step_logits = [np.asarray(prompt_logits)]
    for index in range(prompt, full_length):
        logits, hidden, cache = decoder.call_with_cache(token_ids[:, index : index + 1], cache, index)
        step_logits.append(np.asarray(logits))
    assert tuple(hidden.shape) == (1, 1, 8)
    assert tuple(cache.shape) == (1, 2, 2, 8, 2, 4)
    np.testing.assert_allclose(np.concatenate(step_logits, axis=1), full_logits, atol=1e-5)


def test_logits_are_tied_to_the_token_embedding():
    decoder = GptDecoder(**CONFIG)
    hidden = np.random.default_rng(0).normal(size=(1, 2, 8)).astype("float32")
    expected = hidden @ np.asarray(decoder.token_embedding.embeddings).T
    np.testing.assert_allclose(decoder.logits(hidden), expected, atol=1e-5)


def test_config_round_trip_and_named_sizes():
    decoder = GptDecoder(**CONFIG)
    assert GptDecoder.from_config(decoder.get_config()).get_config() == decoder.get_config()
    small = GptDecoder.from_size("tiny", vocabulary_size=30, max_sequence_length=8)
    assert (small.num_layers, small.hidden_dim, small.num_heads, small.intermediate_dim) == (2, 128, 2, 512)


def test_bad_configs_and_inputs_name_the_argument():
    with pytest.raises(ValueError, match="hidden_dim"):
        GptDecoder(**{**CONFIG, "num_heads": 3})
    decoder = GptDecoder(**CONFIG)
    with pytest.raises(ValueError, match="max_sequence_length"):
        logits_of(decoder, np.ones((1, 13), "int32"))
    with pytest.raises(ValueError, match="token_ids"):
        logits_of(decoder, np.ones((1, 4), "float32"))
    with pytest.raises(ValueError, match="token_ids"):
        decoder({"token_ids": np.ones((4,), "int32"), "padding_mask": np.ones((4,), "int32")})
    with pytest.raises(ValueError, match="max_length"):
        decoder.init_cache(batch_size=1, max_length=20)


def test_attention_dropout_round_trips_and_old_configs_load():
    assert GptDecoder(**CONFIG).attention_dropout == 0.1  # GPT-2's recipe
    decoder = GptDecoder(**CONFIG, attention_dropout=0.0)
    assert [block.self_attention.dropout for block in decoder.transformer_layers] == [0.0, 0.0]
    assert decoder.embeddings_dropout.rate == 0.1
    config = decoder.get_config()
    assert config["attention_dropout"] == 0.0
    assert GptDecoder.from_config(config).get_config() == config
    del config["attention_dropout"]  # a config saved before the option existed
    old = GptDecoder.from_config(config)
    assert old.attention_dropout == 0.1
    assert [block.self_attention.dropout for block in old.transformer_layers] == [0.1, 0.1]
    with pytest.raises(ValueError, match="attention_dropout"):
        GptDecoder(**CONFIG, attention_dropout=1.5)
