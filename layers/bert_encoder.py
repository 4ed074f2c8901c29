"""BERT encoder backbone: embeddings, post-LN Transformer encoder blocks and a [CLS] pooler."""

import keras
from keras import ops

from layers.alibi import AlibiBias
from layers.backbone import Backbone
from layers.backbone_validation import check_backbone_arguments, check_backbone_inputs
from layers.bert_embedding import BertEmbedding
from layers.initializers import truncated_normal
from layers.multi_head_attention import resolve_attention_dropout
from layers.transformer_encoder_block import TransformerEncoderBlock

INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")


def encode(
    embeddings,
    transformer_layers,
    final_layer_norm,
    pooled_dense,
    inputs,
    attention_mask=None,
    output_positions=None,
    training=None,
    alibi=None,
):
    """The encoder's forward pass: embeddings, blocks, final LayerNorm (pre-LN only), [CLS] pooler.

    With `output_positions` `[batch, P]`, the last block runs only at [CLS] and
    those positions, and `sequence_output` is `[batch, P, hidden_dim]`. With
    an `AlibiBias` layer, every block adds its biases to the attention logits.
    """
    x = embeddings(inputs["token_ids"], inputs["segment_ids"], training=training)
    query_positions = None
    if output_positions is not None:
        cls_positions = ops.zeros_like(output_positions[:, :1], dtype="int32")  # (B, 1)
        query_positions = ops.concatenate([cls_positions, ops.cast(output_positions, "int32")], axis=1)
    bias = None if alibi is None else alibi(x)  # (1, N, T, T)
    for index, block in enumerate(transformer_layers):
        last = index == len(transformer_layers) - 1
        block_positions = query_positions if last else None
        block_bias = bias
        if alibi is not None and block_positions is not None:
            block_bias = alibi(x, query_positions=block_positions)  # (B, N, 1 + P, T)
        x = block(
            x,
            padding_mask=inputs["padding_mask"],
            attention_mask=attention_mask,
            query_positions=block_positions,
            attention_bias=block_bias,
            training=training,
        )
    if final_layer_norm is not None:
        x = final_layer_norm(x)
    sequence_output = x if output_positions is None else x[:, 1:, :]  # (B, P, H) at the positions
    return {"sequence_output": sequence_output, "pooled_output": pooled_dense(x[:, 0, :])}


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class BertEncoder(Backbone):
    """The BERT encoder (Devlin et al., 2019) as a functional Keras model.

    Token + segment + learned position embeddings, LayerNorm and dropout; then
    `num_layers` post-LN Transformer encoder blocks with tanh-GELU
    feed-forwards; `pooled_output` is dense + tanh on the first ([CLS]) token.
    Weights are initialised with `TruncatedNormal(stddev=0.02)`. The math is
    that of keras-hub's `BertBackbone` (tests copy its weights and compare).

    Args:
        vocabulary_size: int. Size of the token vocabulary.
        num_layers: int. Number of encoder blocks.
        num_heads: int. Attention heads per block; must divide `hidden_dim`.
        hidden_dim: int. Size of the hidden states.
        intermediate_dim: int. Hidden size of each feed-forward block.
        dropout: float. Dropout rate everywhere (on the attention
            probabilities too, unless `attention_dropout` is given).
            Defaults to 0.1.
        max_sequence_length: int. Number of learned positions. Defaults to 512.
        num_segments: int. Number of segment ids. Defaults to 2.
        layer_norm_epsilon: float. Defaults to 1e-12.
        attention_dropout: float or None. Dropout on the attention
            probabilities; None means `dropout` (BERT's 0.1 by default).
            0 lets the attention run on the backend's fused kernel in
            training too (`MultiHeadAttention`), as Cramming and most GPT
            recipes train. Defaults to None.
        normalize_first: bool. Pre-LN blocks (LayerNorm before attention and
            feed-forward, one more LayerNorm after the last block), as
            Xiong et al. (2020) and Cramming (Geiping & Goldstein, 2023)
            train BERT: stable without long warmups at high learning rates.
            (It does not shorten the masked-LM plateau of short CPU runs;
            ALiBi does, docs/pretraining.md.) False (the default) is BERT's math.
        alibi: bool. Add ALiBi biases to every attention head's logits
            (`layers.alibi`: each head prefers nearby tokens, from slope 1/2
            to 1/256, as MosaicBERT), beside the learned positions. A
            masked LM then learns from context from its first updates
            instead of after a long plateau at the unigram distribution
            (docs/pretraining.md). Defaults to False (BERT's math).

    Call arguments:
        inputs: dict of int tensors `[batch, sequence]`: `token_ids`,
            `segment_ids`, `padding_mask` (1 for real tokens, 0 for padding).

    Returns:
        dict with `sequence_output` `[batch, sequence, hidden_dim]` and
        `pooled_output` `[batch, hidden_dim]`.

    Example:

    >>> import numpy as np
    >>> from layers import BertEncoder
    >>> encoder = BertEncoder.from_size("tiny", vocabulary_size=100, max_sequence_length=16)
    >>> outputs = encoder({
    ...     "token_ids": np.array([[2, 17, 33, 3, 0]], "int32"),
    ...     "segment_ids": np.zeros((1, 5), "int32"),
    ...     "padding_mask": np.array([[1, 1, 1, 1, 0]], "int32"),
    ... })
    >>> tuple(outputs["sequence_output"].shape), tuple(outputs["pooled_output"].shape)
    ((1, 5, 128), (1, 128))

    Reference:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805)
    """

    CONFIG_ARGUMENTS = (
        "vocabulary_size",
        "num_layers",
        "num_heads",
        "hidden_dim",
        "intermediate_dim",
        "dropout",
        "max_sequence_length",
        "num_segments",
        "layer_norm_epsilon",
        "attention_dropout",
        "normalize_first",
        "alibi",
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
        num_segments=2,
        layer_norm_epsilon=1e-12,
        attention_dropout=None,
        normalize_first=False,
        alibi=False,
        dtype=None,
        **kwargs,
    ):
        check_backbone_arguments(
            vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim, dropout, max_sequence_length
        )
        if not isinstance(num_segments, int) or num_segments < 1:
            raise ValueError(f"`num_segments` must be a positive int, got {num_segments!r}.")
        # === Layers ===
        embeddings = BertEmbedding(
            vocabulary_size,
            hidden_dim,
            max_sequence_length=max_sequence_length,
            num_segments=num_segments,
            dropout=dropout,
            layer_norm_epsilon=layer_norm_epsilon,
            initializer=truncated_normal(),
            dtype=dtype,
            name="embeddings",
        )
        transformer_layers = [
            TransformerEncoderBlock(
                num_heads,
                intermediate_dim,
                dropout=dropout,
                attention_dropout=attention_dropout,
                activation="gelu_approximate",
                layer_norm_epsilon=layer_norm_epsilon,
                normalize_first=normalize_first,
                kernel_initializer=truncated_normal(),
                dtype=dtype,
                name=f"transformer_layer_{index}",
            )
            for index in range(num_layers)
        ]
        final_layer_norm = None
        if normalize_first:
            final_layer_norm = keras.layers.LayerNormalization(
                epsilon=layer_norm_epsilon, dtype=dtype, name="final_layer_norm"
            )
        pooled_dense = keras.layers.Dense(
            hidden_dim,
            activation="tanh",
            kernel_initializer=truncated_normal(),
            dtype=dtype,
            name="pooled_dense",
        )

        # === Functional model ===
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUT_NAMES}
        alibi_layer = AlibiBias(num_heads, name="alibi") if alibi else None
        outputs = encode(embeddings, transformer_layers, final_layer_norm, pooled_dense, inputs, alibi=alibi_layer)
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

        # === Config ===
        self.embeddings_layer = embeddings
        self.token_embedding = embeddings.token_embedding
        self.transformer_layers = transformer_layers
        self.final_layer_norm = final_layer_norm
        self.pooled_dense = pooled_dense
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.layer_norm_epsilon = layer_norm_epsilon
        self.attention_dropout = resolve_attention_dropout(attention_dropout, dropout)
        self.normalize_first = normalize_first
        self.alibi = alibi
        self.alibi_layer = alibi_layer

    def call(self, inputs, training=None, mask=None, output_positions=None):
        if output_positions is not None:
            return self.call_with_attention_mask(inputs, None, output_positions=output_positions, training=training)
        check_backbone_inputs(inputs, INPUT_NAMES, self.max_sequence_length)
        return super().call(inputs, training=training, mask=mask)

    def compute_output_spec(self, inputs, training=None, mask=None, output_positions=None):
        outputs = super().compute_output_spec(inputs, training=training, mask=mask)
        if output_positions is None:
            return outputs
        sequence = outputs["sequence_output"]
        shape = (sequence.shape[0], output_positions.shape[1], sequence.shape[2])
        return dict(outputs, sequence_output=keras.KerasTensor(shape, dtype=sequence.dtype))

    def call_at_positions(self, inputs, output_positions, training=None):
        """The encoder's outputs at `output_positions` `[batch, P]` only (e.g. the masked positions).

        Returns `sequence_output` `[batch, P, hidden_dim]`, equal to
        `encoder(inputs)["sequence_output"]` gathered at those positions, and
        the same `pooled_output`; the last block is computed only at [CLS] and
        the P positions, which saves most of it for masked-LM training. Feed the
        result to `MaskedLMHead` without `mask_positions`. The same as
        `encoder(inputs, output_positions=output_positions)`, which also works
        on symbolic inputs, so a functional model built on it keeps the encoder
        as one sub-layer.
        """
        return self(inputs, output_positions=output_positions, training=training)

    def call_with_attention_mask(self, inputs, attention_mask, output_positions=None, training=None):
        """The encoder with an explicit self-attention mask, same weights and outputs.

        `attention_mask` is `[batch, query, key]`, True where a query may see a
        key (e.g. from `UnilmAttentionMask`: bidirectional, left-to-right or
        seq2seq); it is combined with `inputs["padding_mask"]`. With None,
        this is exactly `encoder(inputs)`. With `output_positions` `[batch, P]`
        the last block runs only at [CLS] and those rows, as in
        `call_at_positions`.
        """
        check_backbone_inputs(inputs, INPUT_NAMES, self.max_sequence_length)
        return encode(
            self.embeddings_layer,
            self.transformer_layers,
            self.final_layer_norm,
            self.pooled_dense,
            inputs,
            attention_mask=attention_mask,
            output_positions=output_positions,
            training=training,
            alibi=self.alibi_layer,
        )
