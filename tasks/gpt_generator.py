"""Prompts in, generated text out, for a `layers.GptDecoder`."""

import tensorflow as tf

from tasks.generation import generate


class GptGenerator(tf.Module):
    """Generates text with a GPT decoder, its tokenizer and a decoding config.

    Decoding reuses the decoder's key/value cache (`call_with_cache`), so each
    new token costs one position's computation; `use_cache=False` recomputes
    the whole prefix at every step (the reference the cache is tested against).
    The whole path, tokenization included, is TensorFlow ops, so
    `saved_models.gpt_export` exports it as a SavedModel signature.

    Args:
        decoder: a `layers.GptDecoder`.
        tokenizer: a `pretrain.text.tokenizer.WordPieceTokenizer`; `[SEP]` is the
            end-of-text token.
        config: a `tasks.generation.GenerationConfig`.

    Example (a tiny untrained decoder: the text is random, its shape is not):
    >>> from layers import GptDecoder
    >>> from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
    >>> from tasks.generation import GenerationConfig
    >>> vocabulary = list(SPECIAL_TOKENS) + ["the", "history", "of", "city"]
    >>> decoder = GptDecoder.from_size("tiny", vocabulary_size=len(vocabulary), max_sequence_length=16)
    >>> generator = GptGenerator(decoder, WordPieceTokenizer(vocabulary), GenerationConfig(max_length=8))
    >>> continuations = generator(["the history of", "the city"])
    >>> continuations.shape, continuations.dtype
    (TensorShape([2]), tf.string)
    """

    def __init__(self, decoder, tokenizer, config, name="gpt_generator"):
        super().__init__(name=name)
        self.decoder = decoder
        self.tokenizer = tokenizer
        self.config = config
        self.end_token_id = tokenizer.token_to_id("[SEP]")

    def __call__(self, prompts):
        """string [B] -> generated continuations, string [B]."""
        tokens, prompt_mask = self.encode_prompts(prompts)
        generated = self.generate_ids(tokens, prompt_mask)
        return self.decode_continuations(generated, prompt_mask)

    def encode_prompts(self, prompts):
        """string [B] -> right-padded int32 buffer [B, max_length] and prompt mask."""
        pieces = self.tokenizer.tokenize_flat(tf.convert_to_tensor(prompts, tf.string))
        pieces = tf.cast(pieces[:, : self.config.max_length - 1], tf.int32)
        batch_size = tf.shape(pieces.row_lengths())[0]
        shape = tf.stack([batch_size, self.config.max_length])
        tokens = pieces.to_tensor(default_value=0, shape=shape)
        positions = tf.range(self.config.max_length)[None, :]
        prompt_mask = positions < tf.cast(pieces.row_lengths(), tf.int32)[:, None]
        return tokens, prompt_mask

    def generate_ids(self, tokens, prompt_mask, use_cache=True):
        """Decodes the buffer [B, T]; positions under `prompt_mask` are kept."""
        if use_cache:
            cache = self._prefill(tokens)
            next_logits = self._next_logits_cached
        else:
            cache = ()
            next_logits = self._next_logits_uncached
        return generate(next_logits, tokens, prompt_mask, cache, self.config, self.end_token_id)

    def decode_continuations(self, tokens, prompt_mask):
        """The generated tokens after each prompt, up to the end token, as text."""
        is_end = tf.equal(tokens, self.end_token_id) & ~prompt_mask
        before_end = tf.equal(tf.cumsum(tf.cast(is_end, tf.int32), axis=1), 0)
        keep = ~prompt_mask & before_end & tf.not_equal(tokens, 0)
        return self.tokenizer.detokenize(tf.ragged.boolean_mask(tokens, keep))

    def _prefill(self, tokens):
        length = tokens.shape[1] or self.config.max_length  # a Python int: the cache's size
        cache = self.decoder.init_cache(tf.shape(tokens)[0], length)
        _, _, cache = self.decoder.call_with_cache(tokens, cache, 0)
        return cache

    def _next_logits_cached(self, tokens, cache, index):
        logits, _, cache = self.decoder.call_with_cache(tokens[:, index - 1 : index], cache, index - 1)
        return logits[:, 0, :], cache

    def _next_logits_uncached(self, tokens, cache, index):
        outputs = self.decoder({"token_ids": tokens, "padding_mask": tf.ones_like(tokens)})
        sequence = outputs["sequence_output"] if isinstance(outputs, dict) else outputs
        return self.decoder.logits(sequence)[:, index - 1, :], cache
