"""Focal loss for single-label classification (Lin et al., 2017)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class SparseFocalLoss(keras.losses.Loss):
    """Softmax focal loss on integer labels: `-alpha * (1 - p_t)**gamma * log(p_t)`.

    `p_t` is the predicted probability of the true class. `gamma` > 0 shrinks
    the loss of examples the model already gets right, so training focuses on
    hard or minority-class examples; `gamma=0, alpha=1` is exactly softmax
    cross-entropy.

    Args:
        gamma: float >= 0. Focusing strength. Defaults to 2.0 (the paper's).
        alpha: float > 0. Overall weight. Defaults to 1.0.
        from_logits: bool. Whether predictions are logits (else
            probabilities). Defaults to True.

    Example:
    >>> import numpy as np
    >>> loss = SparseFocalLoss(gamma=0.0)
    >>> ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> y, logits = np.array([0, 1]), np.array([[2.0, 0.0], [0.5, 0.1]])
    >>> bool(np.isclose(loss(y, logits), ce(y, logits)))
    True

    Reference:
        Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """

    def __init__(self, gamma=2.0, alpha=1.0, from_logits=True, name="sparse_focal_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        if gamma < 0:
            raise ValueError(f"gamma={gamma}: must be >= 0.")
        if alpha <= 0:
            raise ValueError(f"alpha={alpha}: must be > 0.")
        self.gamma = gamma
        self.alpha = alpha
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        if self.from_logits:
            log_probs = ops.log_softmax(y_pred, axis=-1)
        else:
            log_probs = ops.log(ops.clip(y_pred, 1e-7, 1.0))
        y_true = ops.cast(y_true, "int32")
        num_classes = ops.shape(y_pred)[-1]
        log_p_true = ops.sum(log_probs * ops.one_hot(y_true, num_classes), axis=-1)
        p_true = ops.exp(log_p_true)
        return -self.alpha * ops.power(1.0 - p_true, self.gamma) * log_p_true

    def get_config(self):
        config = super().get_config()
        config.update(gamma=self.gamma, alpha=self.alpha, from_logits=self.from_logits)
        return config
