import keras
import numpy as np
import pytest

from tasks.focal_loss import SparseFocalLoss

LABELS = np.array([0, 2, 1])
LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [1.0, -0.5, 0.0]], dtype="float32")


def softmax(logits):
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("gamma, alpha", [(2.0, 1.0), (0.5, 0.25)])
def test_focal_loss_matches_the_formula(gamma, alpha):
    p_true = softmax(LOGITS)[np.arange(3), LABELS]
    expected = np.mean(-alpha * (1 - p_true) ** gamma * np.log(p_true))
    loss = SparseFocalLoss(gamma=gamma, alpha=alpha)(LABELS, LOGITS)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_gamma_zero_is_cross_entropy_and_probabilities_work_too():
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(LABELS, LOGITS)
    np.testing.assert_allclose(float(SparseFocalLoss(gamma=0.0)(LABELS, LOGITS)), float(cross_entropy), rtol=1e-5)
    from_probs = SparseFocalLoss(gamma=2.0, from_logits=False)(LABELS, softmax(LOGITS))
    np.testing.assert_allclose(float(from_probs), float(SparseFocalLoss(gamma=2.0)(LABELS, LOGITS)), rtol=1e-4)


def test_focal_loss_shrinks_easy_examples_more_than_hard_ones():
    easy, hard = np.array([[4.0, 0.0]]), np.array([[0.2, 0.0]])
    ratio = lambda logits: float(SparseFocalLoss(gamma=2.0)([0], logits)) / float(SparseFocalLoss(gamma=0.0)([0], logits))  # noqa: E731
    assert ratio(easy) < 0.01 < 0.2 < ratio(hard)


def test_focal_loss_config_round_trip_and_bad_arguments():
    loss = SparseFocalLoss(gamma=1.5, alpha=0.5)
    restored = SparseFocalLoss.from_config(loss.get_config())
    assert (restored.gamma, restored.alpha, restored.from_logits) == (1.5, 0.5, True)
    with pytest.raises(ValueError, match="gamma"):
        SparseFocalLoss(gamma=-1.0)
