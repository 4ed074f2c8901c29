"""Mean of a sequence over its real (unpadded) positions."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class MaskedMeanPooling(keras.layers.Layer):
    """Averages `sequence` `[batch, sequence, hidden]` over the positions where
    `padding_mask` is 1, giving `[batch, hidden]`.

    A sentence feature for encoders whose `[CLS]` pooler was never trained:
    pretraining without next-sentence prediction (RoBERTa-style) leaves the
    pooler at its random initialisation. A row with no real token gives zeros.

    Call arguments:
        sequence: float tensor `[batch, sequence, hidden]`.
        padding_mask: tensor `[batch, sequence]`, 1 (or True) at real tokens.

    Example:

    >>> import numpy as np
    >>> from layers import MaskedMeanPooling
    >>> sequence = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]], "float32")
    >>> pooled = MaskedMeanPooling()(sequence, np.array([[1, 1, 0]], "int32"))
    >>> np.asarray(pooled).tolist()
    [[2.0, 3.0]]
    """

    def call(self, sequence, padding_mask):
        if len(sequence.shape) != 3:
            raise ValueError(f"`sequence` must have rank 3 [batch, sequence, hidden], got shape {sequence.shape}.")
        weights = ops.expand_dims(ops.cast(padding_mask, sequence.dtype), axis=-1)
        total = ops.sum(sequence * weights, axis=1)
        return total / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_output_shape(self, sequence_shape, padding_mask_shape):
        return (sequence_shape[0], sequence_shape[2])
