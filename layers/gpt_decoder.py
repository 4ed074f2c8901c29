"""GPT decoder backbone: token + position embeddings, pre-LN causal blocks, final LayerNorm, tied logits."""

import keras
from keras import ops

from layers.backbone import Backbone
from layers.backbone_validation import check_backbone_arguments, check_backbone_inputs
from layers.initializers import truncated_normal
from layers.multi_head_attention import resolve_attention_dropout
from layers.position_embedding import PositionEmbedding
from layers.tied_softmax_cross_entropy import tied_softmax_cross_entropy
from layers.token_embedding import TokenEmbedding
from layers.transformer_decoder_block import TransformerDecoderBlock

INPUT_NAMES = ("token_ids", "padding_mask")


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class GptDecoder(Backbone):
    """The GPT-2 decoder (Radford et al., 2019) as a functional Keras model.

    Token + learned position embeddings and dropout; `num_layers` pre-LN
    decoder blocks with causal self-attention and tanh-GELU feed-forwards; a
    final LayerNorm. The model's single output is the `sequence_output`
    `[batch, sequence, hidden_dim]`; `logits()` projects it on the tied token
    embedding. Token embeddings are initialised with
    `TruncatedNormal(stddev=0.01)`, the rest with `stddev=0.02`, as keras-hub's
    `GPT2Backbone`, whose math this reproduces (tests copy its weights).

    Generation uses `init_cache` and `call_with_cache`: feed the prompt once at
    `cache_update_index=0`, then one token at a time. Cached calls use only the
    causal mask, so prompts in a batch are expected to be unpadded (or
    left-aligned with their padding after the position being generated).

    Args:
        vocabulary_size: int. Size of the token vocabulary.
        num_layers: int. Number of decoder blocks.
        num_heads: int. Attention heads per block; must divide `hidden_dim`.
        hidden_dim: int. Size of the hidden states.
        intermediate_dim: int. Hidden size of each feed-forward block.
        dropout: float. Dropout rate everywhere (on the attention
            probabilities too, unless `attention_dropout` is given).
            Defaults to 0.1.
        max_sequence_length: int. Number of learned positions. Defaults to 1024.
        layer_norm_epsilon: float. Defaults to 1e-5.
        attention_dropout: float or None. Dropout on the attention
            probabilities; None means `dropout` (GPT-2's 0.1 by default).
            0 lets the attention run on the backend's fused kernel in
            training too (`MultiHeadAttention`), as Cramming and most GPT
            recipes train. Defaults to None.

    Call arguments:
        inputs: dict of int tensors `[batch, sequence]`: `token_ids` and
            `padding_mask` (1 for real tokens).

    Returns:
        `sequence_output` `[batch, sequence, hidden_dim]`.

    Example:

    >>> import numpy as np
    >>> from layers import GptDecoder
    >>> decoder = GptDecoder.from_size("tiny", vocabulary_size=100, max_sequence_length=16)
    >>> hidden = decoder({"token_ids": np.array([[5, 6, 7]], "int32"),
    ...                   "padding_mask": np.ones((1, 3), "int32")})
    >>> tuple(decoder.logits(hidden).shape)
    (1, 3, 100)
    >>> cache = decoder.init_cache(batch_size=1, max_length=16)
    >>> logits, hidden, cache = decoder.call_with_cache(np.array([[5, 6, 7]], "int32"), cache, 0)
    >>> tuple(logits.shape)
    (1, 3, 100)

    Reference:
        - [Radford et al., 2019](https://openai.com/research/better-language-models)
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
        "attention_dropout",
    )

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.1,
        max_sequence_length=1024,
        layer_norm_epsilon=1e-5,
        attention_dropout=None,
        dtype=None,
        **kwargs,
    ):
        check_backbone_arguments(
            vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim, dropout, max_sequence_length
        )
        # === Layers ===
        token_embedding = TokenEmbedding(
            vocabulary_size,
            hidden_dim,
            embeddings_initializer=truncated_normal(0.01),
            dtype=dtype,
            name="token_embedding",
        )
        position_embedding = PositionEmbedding(
            max_sequence_length,
            initializer=truncated_normal(0.02),
            dtype=dtype,
            name="position_embedding",
        )
        embeddings_dropout = keras.layers.Dropout(dropout, dtype=dtype, name="embeddings_dropout")
        transformer_layers = [
            TransformerDecoderBlock(
                num_heads,
                intermediate_dim,
                dropout=dropout,
                attention_dropout=attention_dropout,
                activation="gelu_approximate",
                layer_norm_epsilon=layer_norm_epsilon,
                normalize_first=True,
                kernel_initializer=truncated_normal(0.02),
                dtype=dtype,
                name=f"transformer_layer_{index}",
            )
            for index in range(num_layers)
        ]
        layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="layer_norm"
        )

        # === Functional model ===
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUT_NAMES}
        tokens = token_embedding(inputs["token_ids"])
        x = embeddings_dropout(tokens + position_embedding(tokens))
        for block in transformer_layers:
            x = block(x, decoder_padding_mask=inputs["padding_mask"])
        sequence_output = layer_norm(x)
        super().__init__(inputs=inputs, outputs=sequence_output, dtype=dtype, **kwargs)

        # === Config ===
        self.token_embedding = token_embedding
        self.position_embedding = position_embedding
        self.embeddings_dropout = embeddings_dropout
        self.transformer_layers = transformer_layers
        self.layer_norm = layer_norm
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.layer_norm_epsilon = layer_norm_epsilon
        self.attention_dropout = resolve_attention_dropout(attention_dropout, dropout)

    def call(self, inputs, training=None, mask=None):
        check_backbone_inputs(inputs, INPUT_NAMES, self.max_sequence_length)
        return super().call(inputs, training=training, mask=mask)

    def logits(self, sequence_output):
        """Vocabulary logits `[batch, sequence, vocabulary_size]` through the tied token embedding."""
        return self.token_embedding(sequence_output, reverse=True)

    def language_model_loss(self, sequence_output, labels, sample_weight=None, return_accuracy=False):
        """Weighted mean cross-entropy of `logits(sequence_output)` against `labels` `[batch, sequence]`.

        Equal to `sum(w * sparse_cross_entropy) / (sum(w) + 1e-5)` over the
        tied logits, but fused and chunked (`tied_softmax_cross_entropy`): the
        `[batch, sequence, vocabulary_size]` logits are never materialised, which
        makes a training step about a fifth cheaper at vocabulary 30522. Use it
        in a training model's `compute_loss` with the backbone's
        `sequence_output` as the model output. With `return_accuracy`, returns
        `(loss, accuracy)`, the accuracy being the weighted share of positions
        whose label has the highest logit.
        """
        return tied_softmax_cross_entropy(
            sequence_output,
            self.token_embedding.embeddings,
            labels,
            sample_weight,
            return_accuracy=return_accuracy,
        )

    def init_cache(self, batch_size, max_length):
        """An all-zero key/value cache `[batch, num_layers, 2, max_length, num_heads, head_dim]`."""
        if isinstance(max_length, int) and max_length > self.max_sequence_length:
            raise ValueError(
                f"`max_length`={max_length} is longer than "
                f"`max_sequence_length`={self.max_sequence_length}."
            )
        head_dim = self.hidden_dim // self.num_heads
        shape = (batch_size, self.num_layers, 2, max_length, self.num_heads, head_dim)
        return ops.zeros(shape, dtype=self.compute_dtype)

    def call_with_cache(self, token_ids, cache, cache_update_index):
        """Run `token_ids` `[batch, n]` at positions `cache_update_index ..` against the cache.

        Returns `(logits [batch, n, vocabulary_size], hidden_states
        [batch, n, hidden_dim], cache)` with the cache updated at those positions.
        """
        tokens = self.token_embedding(token_ids)
        x = tokens + self.position_embedding(tokens, start_index=cache_update_index)
        layer_caches = []
        for index, block in enumerate(self.transformer_layers):
            x, layer_cache = block(
                x, self_attention_cache=cache[:, index, ...], cache_update_index=cache_update_index
            )
            layer_caches.append(layer_cache)
        hidden_states = self.layer_norm(x)
        cache = ops.stack(layer_caches, axis=1)  # (B, num_layers, 2, L, N, D)
        return self.logits(hidden_states), hidden_states, cache
