"""Encoder–decoder Transformer (Vaswani et al.; T5/BART-style denoising) built from our blocks."""

import keras
from keras import ops

from layers.backbone import Backbone
from layers.backbone_validation import check_backbone_arguments, check_backbone_inputs
from layers.position_embedding import PositionEmbedding
from layers.token_embedding import TokenEmbedding
from layers.transformer_decoder_block import TransformerDecoderBlock
from layers.transformer_encoder_block import TransformerEncoderBlock

ENCODER_INPUTS = ("encoder_token_ids", "encoder_padding_mask")
DECODER_INPUTS = ("decoder_token_ids", "decoder_padding_mask")


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class Seq2SeqTransformer(Backbone):
    """An encoder–decoder Transformer as a functional Keras model.

    The encoder is `num_layers` `TransformerEncoderBlock`s over token plus
    learned position embeddings; the decoder is `num_layers`
    `TransformerDecoderBlock`s with causal self-attention and cross-attention
    to the encoder output. Blocks are pre-LN (GPT-2, T5) with a final
    LayerNorm on each side, which trains stably from scratch at small sizes.
    The output projection is tied to the decoder's token embedding; with
    `share_embeddings=True` (T5, BART) encoder and decoder also share one
    embedding matrix.

    Args:
        vocabulary_size: int. Size of the token vocabulary.
        num_layers: int. Blocks in the encoder and in the decoder.
        num_heads: int. Attention heads; must divide `hidden_dim`.
        hidden_dim: int. Size of the hidden states.
        intermediate_dim: int. Hidden size of each feed-forward block.
        dropout: float. Dropout rate everywhere. Defaults to 0.1.
        max_sequence_length: int. Learned positions per side. Defaults to 512.
        layer_norm_epsilon: float. Defaults to 1e-5.
        share_embeddings: bool. One token embedding for encoder and decoder.
            Defaults to True.

    Call arguments:
        inputs: dict of int tensors: `encoder_token_ids`,
            `encoder_padding_mask` `[batch, source_length]`;
            `decoder_token_ids`, `decoder_padding_mask` `[batch, target_length]`
            (padding masks: 1 for real tokens).

    Returns:
        dict with `encoder_sequence_output` `[batch, source_length,
        hidden_dim]` and `decoder_sequence_output` `[batch, target_length,
        hidden_dim]`; `logits()` maps the latter to the vocabulary.

    Example:

    >>> import numpy as np
    >>> from layers.seq2seq_transformer import Seq2SeqTransformer
    >>> model = Seq2SeqTransformer(vocabulary_size=50, num_layers=1, num_heads=2,
    ...                            hidden_dim=16, intermediate_dim=32)
    >>> outputs = model({
    ...     "encoder_token_ids": np.array([[7, 8, 9, 3]], "int32"),
    ...     "encoder_padding_mask": np.ones((1, 4), "int32"),
    ...     "decoder_token_ids": np.array([[2, 9, 8]], "int32"),
    ...     "decoder_padding_mask": np.ones((1, 3), "int32"),
    ... })
    >>> tuple(model.logits(outputs["decoder_sequence_output"]).shape)
    (1, 3, 50)

    Reference:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762)
        - [Raffel et al., 2020 (T5)](https://arxiv.org/abs/1910.10683)
    """

    CONFIG_ARGUMENTS = (
        "vocabulary_size",
        "num_layers",
        "num_heads",
        "hidden_dim",
        "intermediate_dim",
        "dropout",
        "max_sequence_length",
        "layer_norm_epsilon",
        "share_embeddings",
    )

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.1,
        max_sequence_length=512,
        layer_norm_epsilon=1e-5,
        share_embeddings=True,
        dtype=None,
        **kwargs,
    ):
        check_backbone_arguments(
            vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim, dropout, max_sequence_length
        )
        # === Layers ===
        encoder_token_embedding = TokenEmbedding(
            vocabulary_size, hidden_dim, dtype=dtype, name="encoder_token_embedding"
        )
        decoder_token_embedding = (
            encoder_token_embedding
            if share_embeddings
            else TokenEmbedding(vocabulary_size, hidden_dim, dtype=dtype, name="decoder_token_embedding")
        )
        encoder_position_embedding = PositionEmbedding(
            max_sequence_length, dtype=dtype, name="encoder_position_embedding"
        )
        decoder_position_embedding = PositionEmbedding(
            max_sequence_length, dtype=dtype, name="decoder_position_embedding"
        )
        encoder_dropout = keras.layers.Dropout(dropout, dtype=dtype, name="encoder_embedding_dropout")
        decoder_dropout = keras.layers.Dropout(dropout, dtype=dtype, name="decoder_embedding_dropout")
        encoder_blocks = [
            TransformerEncoderBlock(
                num_heads,
                intermediate_dim,
                dropout=dropout,
                layer_norm_epsilon=layer_norm_epsilon,
                normalize_first=True,
                dtype=dtype,
                name=f"encoder_layer_{index}",
            )
            for index in range(num_layers)
        ]
        decoder_blocks = [
            TransformerDecoderBlock(
                num_heads,
                intermediate_dim,
                dropout=dropout,
                layer_norm_epsilon=layer_norm_epsilon,
                normalize_first=True,
                use_cross_attention=True,
                dtype=dtype,
                name=f"decoder_layer_{index}",
            )
            for index in range(num_layers)
        ]
        encoder_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="encoder_layer_norm"
        )
        decoder_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="decoder_layer_norm"
        )

        # === Functional model ===
        inputs = {
            name: keras.Input(shape=(None,), dtype="int32", name=name)
            for name in ENCODER_INPUTS + DECODER_INPUTS
        }
        x = encoder_token_embedding(inputs["encoder_token_ids"])
        x = encoder_dropout(x + encoder_position_embedding(x))
        for block in encoder_blocks:
            x = block(x, padding_mask=inputs["encoder_padding_mask"])
        encoder_output = encoder_layer_norm(x)
        y = decoder_token_embedding(inputs["decoder_token_ids"])
        y = decoder_dropout(y + decoder_position_embedding(y))
        for block in decoder_blocks:
            y = block(
                y,
                encoder_sequence=encoder_output,
                decoder_padding_mask=inputs["decoder_padding_mask"],
                encoder_padding_mask=inputs["encoder_padding_mask"],
            )
        decoder_output = decoder_layer_norm(y)
        super().__init__(
            inputs=inputs,
            outputs={"encoder_sequence_output": encoder_output, "decoder_sequence_output": decoder_output},
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self.encoder_token_embedding = encoder_token_embedding
        self.decoder_token_embedding = decoder_token_embedding
        self.encoder_position_embedding = encoder_position_embedding
        self.decoder_position_embedding = decoder_position_embedding
        self.encoder_blocks = encoder_blocks
        self.decoder_blocks = decoder_blocks
        self.encoder_layer_norm = encoder_layer_norm
        self.decoder_layer_norm = decoder_layer_norm
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.layer_norm_epsilon = layer_norm_epsilon
        self.share_embeddings = share_embeddings

    def call(self, inputs, training=None, mask=None):
        check_backbone_inputs(inputs, ENCODER_INPUTS + DECODER_INPUTS, self.max_sequence_length)
        return super().call(inputs, training=training, mask=mask)

    def logits(self, decoder_sequence_output):
        """Vocabulary logits `[batch, target_length, vocabulary_size]` (tied embedding)."""
        return self.decoder_token_embedding(decoder_sequence_output, reverse=True)

    def encode(self, encoder_token_ids, encoder_padding_mask):
        """The encoder alone: `[batch, source_length, hidden_dim]` (inference)."""
        check_backbone_inputs(
            {"encoder_token_ids": encoder_token_ids, "encoder_padding_mask": encoder_padding_mask},
            ENCODER_INPUTS,
            self.max_sequence_length,
        )
        x = self.encoder_token_embedding(encoder_token_ids)
        x = x + self.encoder_position_embedding(x)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=encoder_padding_mask)
        return self.encoder_layer_norm(x)

    def init_cache(self, batch_size, max_length):
        """An all-zero decoder self-attention cache `[batch, num_layers, 2, max_length, num_heads, head_dim]`."""
        if max_length > self.max_sequence_length:
            raise ValueError(
                f"`max_length`={max_length} is longer than `max_sequence_length`={self.max_sequence_length}."
            )
        head_dim = self.hidden_dim // self.num_heads
        shape = (batch_size, self.num_layers, 2, max_length, self.num_heads, head_dim)
        return ops.zeros(shape, dtype=self.compute_dtype)

    def call_decoder_with_cache(
        self, encoder_sequence, encoder_padding_mask, decoder_token_ids, cache, cache_update_index
    ):
        """Run `decoder_token_ids` `[batch, n]` at positions `cache_update_index ..`.

        Self-attention reads and updates the cache; cross-attention attends to
        `encoder_sequence` (from `encode`). Returns `(logits [batch, n,
        vocabulary_size], hidden_states [batch, n, hidden_dim], cache)`.
        """
        y = self.decoder_token_embedding(decoder_token_ids)
        y = y + self.decoder_position_embedding(y, start_index=cache_update_index)
        layer_caches = []
        for index, block in enumerate(self.decoder_blocks):
            y, layer_cache = block(
                y,
                encoder_sequence=encoder_sequence,
                encoder_padding_mask=encoder_padding_mask,
                self_attention_cache=cache[:, index, ...],
                cache_update_index=cache_update_index,
            )
            layer_caches.append(layer_cache)
        hidden_states = self.decoder_layer_norm(y)
        cache = ops.stack(layer_caches, axis=1)  # (B, num_layers, 2, L, N, D)
        return self.logits(hidden_states), hidden_states, cache
