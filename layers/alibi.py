"""ALiBi attention biases: each head prefers nearby keys, linearly in the distance.

Press et al. (2022) add `-m_h * distance` to head h's attention logits, with
slopes `m_h` geometric over the heads. An encoder sees both sides, so the
distance is `|query - key|` (MosaicBERT, Portes et al., 2023). The slopes run
from 1/2 (local) down to 1/256 (nearly global): with 8 heads they are the
paper's `2^-1 ... 2^-8`; the paper's rule `2^(-8 (h + 1) / N)` would leave
a 2-head model without a local head (1/16, 1/256), so with fewer or more
heads the same range is spread over them instead. From
the first update, a [MASK] position's attention already mixes its neighbours,
so a masked LM learns from context without first having to learn where its
neighbours are (docs/pretraining.md measures the plateau this removes).

Example:

>>> import numpy as np
>>> alibi_slopes(2)
[0.5, 0.00390625]
>>> bias = AlibiBias(num_heads=2)(np.zeros((1, 3, 8), "float32"))
>>> tuple(bias.shape), float(bias[0, 0, 0, 2])
((1, 2, 3, 3), -1.0)
"""

import keras
from keras import ops


def alibi_slopes(num_heads):
    """The heads' slopes, `2^-1` down to `2^-8` geometrically (one head: `2^-4.5`, between them)."""
    if num_heads < 1:
        raise ValueError(f"`num_heads` must be a positive int, got {num_heads!r}.")
    if num_heads == 1:
        return [2.0**-4.5]
    return [2.0 ** (-1.0 - 7.0 * head / (num_heads - 1)) for head in range(num_heads)]


def alibi_bias(query_positions, key_length, slopes):
    """Additive attention logits `[batch, heads, Q, key_length]`: `-slope * |query - key|`.

    Args:
        query_positions: int tensor `[batch, Q]`, the queries' positions
            (`arange(T)[None]` for every position).
        key_length: int or scalar tensor, keys at positions `0..key_length-1`.
        slopes: list of float, one per head (`alibi_slopes`).
    """
    queries = ops.cast(query_positions, "float32")[:, None, :, None]  # (B, 1, Q, 1)
    keys = ops.cast(ops.arange(key_length), "float32")[None, None, None, :]  # (1, 1, 1, S)
    slopes = ops.reshape(ops.convert_to_tensor(slopes, "float32"), (1, -1, 1, 1))  # (1, N, 1, 1)
    return -slopes * ops.abs(queries - keys)  # (B, N, Q, S)


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class AlibiBias(keras.layers.Layer):
    """The ALiBi logits of a sequence: `[1, heads, T, T]`, or `[batch, heads, Q, T]` at `query_positions`.

    Args:
        num_heads: int. Attention heads; their slopes are `alibi_slopes(num_heads)`.

    Call arguments:
        inputs: tensor `[batch, sequence, ...]`; only its length is read.
        query_positions: optional int tensor `[batch, Q]`: the rows of those
            queries only (a block computed at a few positions).
    """

    def __init__(self, num_heads, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.slopes = alibi_slopes(self.num_heads)

    def call(self, inputs, query_positions=None):
        length = ops.shape(inputs)[1]
        if query_positions is None:
            query_positions = ops.arange(length)[None, :]
        return alibi_bias(query_positions, length, self.slopes)

    def get_config(self):
        config = super().get_config()
        config.update({"num_heads": self.num_heads})
        return config
