"""Perplexity: exp of the weighted mean token cross-entropy."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class Perplexity(keras.metrics.Mean):
    """exp(mean cross-entropy) over every weighted token seen since the last reset.

    Update it with per-token losses (nats) and their weights; the average is
    taken over tokens before the exponential, as language-model papers report.

    Example:

    >>> import numpy as np
    >>> metric = Perplexity(name="perplexity")
    >>> metric.update_state(np.log([2.0, 8.0]), sample_weight=[1.0, 1.0])
    >>> round(float(metric.result()), 4)
    4.0
    """

    def result(self):
        return ops.exp(super().result())
