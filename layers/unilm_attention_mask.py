"""UniLM's three self-attention masks from one network: bidirectional, left-to-right and seq2seq."""

import keras
from keras import ops

BIDIRECTIONAL = 0
LEFT_TO_RIGHT = 1
SEQ2SEQ = 2
ATTENTION_MODES = {"bidirectional": BIDIRECTIONAL, "left-to-right": LEFT_TO_RIGHT, "seq2seq": SEQ2SEQ}


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class UnilmAttentionMask(keras.layers.Layer):
    """Builds a `[batch, query, key]` self-attention mask per example (Dong et al., 2019).

    One Transformer serves three language models by changing only which keys
    each query may see (padding keys are never visible):

    - `BIDIRECTIONAL` (0): every real token (BERT's masked LM).
    - `LEFT_TO_RIGHT` (1): keys at or before the query (GPT-style).
    - `SEQ2SEQ` (2): the source segment (segment id 0, which includes `[CLS]`
      and the first `[SEP]`) sees only the source; the target segment
      (segment id 1) sees the whole source and the target up to and including
      itself.

    The mode is chosen per example, so one batch can mix the objectives.

    Call arguments:
        padding_mask: int/bool `[batch, sequence]`, 1 for real tokens.
        segment_ids: int `[batch, sequence]`, 0 for the source, 1 for the target.
        attention_mode: int `[batch]`, one of 0, 1, 2 (see above).

    Returns:
        bool `[batch, sequence, sequence]`: True where query `i` (axis 1)
        may attend to key `j` (axis 2). Pass it as `attention_mask` to
        `BertEncoder.call_with_attention_mask` or any `MultiHeadAttention`.

    Example:

    >>> import numpy as np
    >>> from layers import UnilmAttentionMask
    >>> mask = UnilmAttentionMask()(
    ...     padding_mask=np.array([[1, 1, 1, 1, 0]]),
    ...     segment_ids=np.array([[0, 0, 1, 1, 0]]),
    ...     attention_mode=np.array([2]),
    ... )
    >>> np.asarray(mask[0]).astype(int)
    array([[1, 1, 0, 0, 0],
           [1, 1, 0, 0, 0],
           [1, 1, 1, 0, 0],
           [1, 1, 1, 1, 0],
           [1, 1, 1, 1, 0]])

    Reference:
        - [Dong et al., 2019](https://arxiv.org/abs/1905.03197), section 2.3
    """

    def call(self, padding_mask, segment_ids, attention_mode):
        if len(padding_mask.shape) != 2 or len(segment_ids.shape) != 2:
            raise ValueError(
                "`padding_mask` and `segment_ids` must have shape [batch, sequence], got "
                f"{tuple(padding_mask.shape)} and {tuple(segment_ids.shape)}."
            )
        if len(attention_mode.shape) != 1:
            raise ValueError(
                f"`attention_mode` must have shape [batch], got {tuple(attention_mode.shape)}."
            )
        positions = ops.arange(ops.shape(padding_mask)[1])
        causal = positions[:, None] >= positions[None, :]  # (T, T): query i sees key j <= i
        causal = causal[None, :, :]  # (1, T, T)
        source_key = ops.equal(segment_ids, 0)[:, None, :]  # (B, 1, T)
        real_key = ops.cast(padding_mask, "bool")[:, None, :]  # (B, 1, T)
        mode = ops.reshape(ops.cast(attention_mode, "int32"), (-1, 1, 1))  # (B, 1, 1)
        visible = ops.where(
            ops.equal(mode, BIDIRECTIONAL),
            ops.ones_like(causal),
            ops.where(ops.equal(mode, LEFT_TO_RIGHT), causal, ops.logical_or(causal, source_key)),
        )  # (B, T, T)
        return ops.logical_and(visible, real_key)

    def compute_output_shape(self, padding_mask_shape, segment_ids_shape=None, attention_mode_shape=None):
        return (padding_mask_shape[0], padding_mask_shape[1], padding_mask_shape[1])
