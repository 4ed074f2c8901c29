"""Decoding loops for autoregressive models: greedy, sampling, beam search.

Every loop is written with TensorFlow ops (`tf.while_loop`), so it runs
eagerly, inside `tf.function` and inside an exported SavedModel. The model is
reached only through a `next_logits` callable, so GPT and a seq2seq decoder
share the loops:

    next_logits(tokens, cache, index) -> (logits, cache)

`tokens` is the int32 buffer [B, T] decoded so far; the callable returns the
logits [B, V] for position `index` (normally computed from `tokens[:, index-1]`
and the cache of positions < index - 1) and the updated cache. The cache is
any nest of tensors whose first axis is the batch (beam search reorders it).

Prompts sit right-padded in the buffer; `prompt_mask` [B, T] is True where a
row's prompt token must be kept. Decoding starts at the shortest prompt's
length, so rows with longer prompts copy their own tokens until they run out.

Example (a toy "model" that always prefers the token after the previous one):
>>> import tensorflow as tf
>>> def next_logits(tokens, cache, index):
...     previous = tokens[:, index - 1]
...     return tf.one_hot((previous + 1) % 5, 5) * 3.0, cache
>>> tokens = tf.constant([[1, 0, 0, 0]])
>>> mask = tf.constant([[True, False, False, False]])
>>> greedy_search(next_logits, tokens, mask, cache=()).numpy().tolist()
[[1, 2, 3, 4]]
"""

import dataclasses

import tensorflow as tf

STRATEGIES = ("greedy", "sample", "beam")


@dataclasses.dataclass
class GenerationConfig:
    """How to decode; saved as JSON beside a GPT serving export."""

    strategy: str = "greedy"  # one of STRATEGIES
    max_length: int = 64  # prompt + generated tokens
    temperature: float = 1.0  # < 1 sharpens, > 1 flattens (sampling only)
    top_k: int = 0  # keep the k likeliest tokens; 0 = all (sampling only)
    top_p: float = 1.0  # keep the smallest set with this much mass (sampling)
    num_beams: int = 4  # beam search width
    length_penalty: float = 0.0  # GNMT alpha for ranking final beams; 0 = raw sum
    seed: int = 0  # sampling is stateless: same seed, same text

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy={self.strategy!r}: use one of {STRATEGIES}.")
        if self.temperature <= 0:
            raise ValueError(f"temperature={self.temperature}: must be > 0.")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p={self.top_p}: must be in (0, 1].")
        if self.top_k < 0 or self.num_beams < 1 or self.max_length < 2:
            raise ValueError("top_k must be >= 0, num_beams >= 1, max_length >= 2.")
        if self.length_penalty < 0:
            raise ValueError(f"length_penalty={self.length_penalty}: must be >= 0.")


def generate(next_logits, tokens, prompt_mask, cache, config, end_token_id=None):
    """Decodes with `config.strategy`; returns the int32 token buffer [B, T]."""
    if config.strategy == "beam":
        return beam_search(
            next_logits,
            tokens,
            prompt_mask,
            cache,
            config.num_beams,
            end_token_id,
            length_penalty=config.length_penalty,
        )
    if config.strategy == "sample":
        return random_sample(
            next_logits,
            tokens,
            prompt_mask,
            cache,
            temperature=config.temperature,
            top_k=config.top_k,
            top_p=config.top_p,
            seed=config.seed,
            end_token_id=end_token_id,
        )
    return greedy_search(next_logits, tokens, prompt_mask, cache, end_token_id)


def greedy_search(next_logits, tokens, prompt_mask, cache, end_token_id=None):
    """Picks the likeliest token at every step."""

    def choose(logits, index):
        return tf.argmax(logits, axis=-1, output_type=tf.int32)

    return _decode(next_logits, tokens, prompt_mask, cache, choose, end_token_id)


def random_sample(
    next_logits,
    tokens,
    prompt_mask,
    cache,
    temperature=1.0,
    top_k=0,
    top_p=1.0,
    seed=0,
    end_token_id=None,
):
    """Samples each token from the temperature-scaled, top-k / top-p filtered
    distribution, with stateless random ops seeded by (`seed`, position)."""

    def choose(logits, index):
        logits = filter_logits(logits / temperature, top_k, top_p)
        step_seed = tf.stack([tf.cast(seed, tf.int32), tf.cast(index, tf.int32)])
        sampled = tf.random.stateless_categorical(logits, 1, seed=step_seed)
        return tf.cast(sampled[:, 0], tf.int32)

    return _decode(next_logits, tokens, prompt_mask, cache, choose, end_token_id)


def filter_logits(logits, top_k=0, top_p=1.0):
    """Sets to -inf every logit outside the top-k and outside the nucleus
    (the smallest set of likeliest tokens whose probability reaches top_p)."""
    very_negative = tf.fill(tf.shape(logits), tf.constant(-1e9, logits.dtype))
    if top_k:
        kth_best = tf.math.top_k(logits, k=top_k).values[:, -1:]
        logits = tf.where(logits < kth_best, very_negative, logits)
    if top_p < 1.0:
        sorted_logits = tf.sort(logits, direction="DESCENDING", axis=-1)
        sorted_probs = tf.nn.softmax(sorted_logits, axis=-1)
        mass_before = tf.cumsum(sorted_probs, axis=-1, exclusive=True)
        # The last kept token is the one that brings the mass to top_p.
        kept = tf.cast(mass_before < top_p, tf.int32)
        num_kept = tf.maximum(tf.reduce_sum(kept, axis=-1, keepdims=True), 1)
        threshold = tf.gather(sorted_logits, num_kept - 1, batch_dims=1)
        logits = tf.where(logits < threshold, very_negative, logits)
    return logits


def _decode(next_logits, tokens, prompt_mask, cache, choose, end_token_id):
    tokens = tf.convert_to_tensor(tokens, tf.int32)
    prompt_mask = tf.convert_to_tensor(prompt_mask, tf.bool)
    length = tf.shape(tokens)[1]
    start = _first_generated_index(prompt_mask)
    done = tf.zeros([tf.shape(tokens)[0]], tf.bool)

    def step(index, tokens, cache, done):
        logits, cache = next_logits(tokens, cache, index)
        chosen = choose(logits, index)
        chosen = tf.where(done, tf.zeros_like(chosen), chosen)  # [PAD] after end
        in_prompt = prompt_mask[:, index]
        new_column = tf.where(in_prompt, tokens[:, index], chosen)
        if end_token_id is not None:
            done = done | (~in_prompt & tf.equal(new_column, end_token_id))
        return index + 1, _set_column(tokens, index, new_column), cache, done

    def keep_going(index, tokens, cache, done):
        return (index < length) & ~tf.reduce_all(done)

    _, tokens, _, _ = tf.while_loop(
        keep_going,
        step,
        (start, tokens, cache, done),
        shape_invariants=_invariants(cache, tokens) + (tf.TensorShape([None]),),
    )
    return tokens


def beam_search(
    next_logits, tokens, prompt_mask, cache, num_beams=4, end_token_id=None, length_penalty=0.0
):
    """Keeps the `num_beams` likeliest sequences (sum of log-probabilities) and
    returns the best one per row; `num_beams=1` is greedy search.

    The final beams are ranked by GNMT's normalised score
    `score / ((5 + generated_length) / 6) ** length_penalty`, where
    `generated_length` counts the generated tokens up to and including the end
    token. `length_penalty=0.0` ranks by the raw sum; larger values favour
    longer hypotheses (GNMT uses 0.6 to 1.0).
    """
    if length_penalty < 0:
        raise ValueError(f"`length_penalty` must be >= 0, got {length_penalty}.")
    tokens = tf.convert_to_tensor(tokens, tf.int32)
    prompt_mask = tf.convert_to_tensor(prompt_mask, tf.bool)
    batch_size, length = tf.shape(tokens)[0], tf.shape(tokens)[1]
    start = _first_generated_index(prompt_mask)
    # Beams of one row sit next to each other: [B, T] -> [B * K, T].
    beam_tokens = tf.repeat(tokens, num_beams, axis=0)
    beam_mask = tf.repeat(prompt_mask, num_beams, axis=0)
    cache = tf.nest.map_structure(lambda c: tf.repeat(c, num_beams, axis=0), cache)
    # All beams start equal: only the first may expand, or the K best would be copies.
    first_only = tf.concat([[0.0], tf.fill([num_beams - 1], float("-inf"))], axis=0)
    scores = tf.tile(first_only[None, :], [batch_size, 1])  # [B, K]
    finished = tf.zeros([batch_size * num_beams], tf.bool)
    generated_lengths = tf.zeros([batch_size * num_beams], tf.int32)

    def step(index, beam_tokens, cache, scores, finished, generated_lengths):
        logits, cache = next_logits(beam_tokens, cache, index)
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)  # [B*K, V]
        vocabulary_size = tf.shape(log_probs)[-1]
        in_prompt = beam_mask[:, index]
        forced_token = tf.where(in_prompt, beam_tokens[:, index], tf.zeros_like(beam_tokens[:, index]))
        forced = tf.where(
            tf.one_hot(forced_token, vocabulary_size, on_value=True, off_value=False),
            0.0,
            float("-inf"),
        )
        log_probs = tf.where((in_prompt | finished)[:, None], forced, log_probs)
        generated_lengths += tf.cast(~(in_prompt | finished), tf.int32)
        candidates = scores[:, :, None] + tf.reshape(log_probs, [batch_size, num_beams, -1])
        scores, flat_choice = tf.math.top_k(tf.reshape(candidates, [batch_size, -1]), k=num_beams)
        source_beam = flat_choice // vocabulary_size  # [B, K]
        new_column = tf.reshape(flat_choice % vocabulary_size, [-1])  # [B*K]
        source_rows = tf.reshape(source_beam + tf.range(batch_size)[:, None] * num_beams, [-1])
        beam_tokens = _set_column(tf.gather(beam_tokens, source_rows), index, new_column)
        cache = tf.nest.map_structure(lambda c: tf.gather(c, source_rows), cache)
        finished = tf.gather(finished, source_rows)
        generated_lengths = tf.gather(generated_lengths, source_rows)
        if end_token_id is not None:
            finished = finished | (~in_prompt & tf.equal(new_column, end_token_id))
        return index + 1, beam_tokens, cache, scores, finished, generated_lengths

    def keep_going(index, beam_tokens, cache, scores, finished, generated_lengths):
        return (index < length) & ~tf.reduce_all(finished)

    invariants = _invariants(cache, beam_tokens) + (
        tf.TensorShape([None, None]),
        tf.TensorShape([None]),
        tf.TensorShape([None]),
    )
    _, beam_tokens, _, scores, _, generated_lengths = tf.while_loop(
        keep_going,
        step,
        (start, beam_tokens, cache, scores, finished, generated_lengths),
        shape_invariants=invariants,
    )
    generated_lengths = tf.cast(tf.reshape(generated_lengths, [batch_size, num_beams]), tf.float32)
    normalised = scores / ((5.0 + generated_lengths) / 6.0) ** length_penalty  # [B, K]
    # top_k sorted the beams, and argmax takes the first of equals: with no
    # penalty, beam 0 (the raw best) is chosen.
    best = tf.argmax(normalised, axis=1, output_type=tf.int32)  # [B]
    beam_tokens = tf.reshape(beam_tokens, [batch_size, num_beams, -1])
    return tf.gather(beam_tokens, best, batch_dims=1)


def _first_generated_index(prompt_mask):
    """The shortest prompt's length (at least 1: position 0 is never generated)."""
    prompt_lengths = tf.reduce_sum(tf.cast(prompt_mask, tf.int32), axis=1)
    return tf.maximum(tf.reduce_min(prompt_lengths), 1)


def _set_column(tokens, index, column):
    is_index = tf.equal(tf.range(tf.shape(tokens)[1]), index)[None, :]  # [1, T]
    return tf.where(is_index, column[:, None], tokens)


def _invariants(cache, tokens):
    cache_shapes = tf.nest.map_structure(lambda c: tf.TensorShape([None]).concatenate(c.shape[1:]), cache)
    return (tf.TensorShape([]), tf.TensorShape([None, None]), cache_shapes)
