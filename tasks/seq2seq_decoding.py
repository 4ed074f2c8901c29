"""Greedy and beam-search decoding for `Seq2SeqTransformer`, with the decoder's key/value cache.

The source is encoded once; the decoder then runs one token per step against
its self-attention cache, cross-attending to the encoder output. The loops
themselves are the shared ones of `tasks.generation` (also used by GPT): this
module only supplies the seq2seq `next_logits` callable and the cache, which
holds the decoder cache and the encoder output with its padding mask (all
batch-first, so beam search can reorder and repeat them).

The decoder buffer starts with `start_id` (`[CLS]`) at position 0 and decoding
stops at `end_id` (`[SEP]`) or at `max_length`. `trim` turns the buffer into
the generated ids alone.

Example:

>>> import numpy as np
>>> from layers.seq2seq_transformer import Seq2SeqTransformer
>>> model = Seq2SeqTransformer(vocabulary_size=20, num_layers=1, num_heads=2,
...                            hidden_dim=8, intermediate_dim=16, dropout=0.0)
>>> source = np.array([[5, 6, 7, 3]], "int32")
>>> tokens = decode(model, source, np.ones_like(source), max_length=6, num_beams=2)
>>> tuple(tokens.shape), int(tokens[0, 0])
((1, 6), 2)
"""

import tensorflow as tf

from pretrain.text.tokenizer import CLS_ID, SEP_ID
from tasks.generation import beam_search, greedy_search


def seq2seq_next_logits(model):
    """The `next_logits(tokens, cache, index)` callable of `tasks.generation` for `model`.

    `cache` is `(decoder_cache, encoder_sequence, encoder_padding_mask)`; the
    logits for position `index` come from the token at `index - 1`.
    """

    def next_logits(tokens, cache, index):
        decoder_cache, encoder_sequence, encoder_padding_mask = cache
        # Inside tf.while_loop the shared loops relax the cache shapes to unknown rank.
        head_dim = model.hidden_dim // model.num_heads
        decoder_cache = tf.ensure_shape(
            decoder_cache, [None, model.num_layers, 2, None, model.num_heads, head_dim]
        )
        encoder_sequence = tf.ensure_shape(encoder_sequence, [None, None, model.hidden_dim])
        encoder_padding_mask = tf.ensure_shape(encoder_padding_mask, [None, None])
        previous = tokens[:, index - 1 : index]  # (B, 1)
        logits, _, decoder_cache = model.call_decoder_with_cache(
            encoder_sequence, encoder_padding_mask, previous, decoder_cache, index - 1
        )
        return logits[:, 0, :], (decoder_cache, encoder_sequence, encoder_padding_mask)

    return next_logits


def decode(
    model,
    encoder_token_ids,
    encoder_padding_mask,
    max_length,
    num_beams=1,
    length_penalty=0.0,
    start_id=CLS_ID,
    end_id=SEP_ID,
):
    """Decodes a batch of sources; returns the int32 buffer `[batch, max_length]`.

    Args:
        model: `Seq2SeqTransformer`.
        encoder_token_ids: int `[batch, source_length]`.
        encoder_padding_mask: `[batch, source_length]`, 1 for real tokens.
        max_length: int. Decoder positions, the start token included.
        num_beams: int. 1 is greedy search; more keeps that many hypotheses
            ranked by the sum of their log-probabilities.
        length_penalty: float. GNMT length normalisation of the final beams,
            `score / ((5 + generated_length) / 6) ** length_penalty`; 0 ranks
            by the raw sum, larger values favour longer outputs. Beam search only.
        start_id: int. First decoder token. Defaults to `[CLS]`.
        end_id: int. Decoding of a row stops after it. Defaults to `[SEP]`.
    """
    if num_beams < 1:
        raise ValueError(f"`num_beams` must be at least 1, got {num_beams}.")
    encoder_token_ids = tf.convert_to_tensor(encoder_token_ids, tf.int32)
    encoder_padding_mask = tf.convert_to_tensor(encoder_padding_mask, tf.int32)
    batch_size = tf.shape(encoder_token_ids)[0]
    encoder_sequence = model.encode(encoder_token_ids, encoder_padding_mask)
    cache = (model.init_cache(batch_size, max_length), encoder_sequence, encoder_padding_mask)
    tokens = tf.pad(tf.fill([batch_size, 1], start_id), [[0, 0], [0, max_length - 1]])  # (B, T)
    prompt_mask = tf.equal(tf.range(max_length)[None, :], 0) & tf.ones_like(tokens, tf.bool)
    next_logits = seq2seq_next_logits(model)
    if num_beams == 1:
        return greedy_search(next_logits, tokens, prompt_mask, cache, end_token_id=end_id)
    return beam_search(
        next_logits,
        tokens,
        prompt_mask,
        cache,
        num_beams=num_beams,
        end_token_id=end_id,
        length_penalty=length_penalty,
    )


def trim(tokens, end_id=SEP_ID):
    """The generated ids of each row: without the start token, cut before `end_id`.

    Returns an int32 `tf.RaggedTensor` `[batch, None]`.
    """
    generated = tf.convert_to_tensor(tokens)[:, 1:]
    before_end = tf.cumsum(tf.cast(tf.equal(generated, end_id), tf.int32), axis=1) == 0
    return tf.ragged.boolean_mask(generated, before_end)
