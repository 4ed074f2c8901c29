"""GPT pretraining: causal language modelling.

`GptPretrainer` wraps a `GptDecoder` and predicts every next token with the
decoder's tied output projection. The loss is the token cross-entropy averaged
over the real (non-padding) labels; metrics are `accuracy` of the next-token
guess and `perplexity` (exp of the mean token loss).

The model outputs the decoder's hidden states, and the loss projects them on
the tied embedding fused with the softmax cross-entropy, chunk by chunk
(`GptDecoder.language_model_loss`): the `[batch, sequence, vocabulary]`
logits are never held in memory, and the same pass counts the right guesses.
`model.backbone.logits(model(x))` gives the logits.

It trains on batches of `pretrain.examples.gpt_examples.gpt_dataset` passed through
`features_to_inputs`.
"""

import keras
import tensorflow as tf
from keras import ops

from pretrain.objectives.backbone_pretrainer import BackbonePretrainer, scale_for_replicas
from pretrain.objectives.perplexity import Perplexity

PAD_ID = 0  # "[PAD]" in every vocabulary we train


def features_to_inputs(features):
    """Maps a batch `{"input_ids", "labels"}` to Keras `(x, y)`."""
    token_ids = tf.cast(features["input_ids"], tf.int32)
    x = {"token_ids": token_ids, "padding_mask": tf.cast(token_ids != PAD_ID, tf.int32)}
    labels = tf.cast(features["labels"], tf.int32)
    y = {"labels": labels, "label_weights": tf.cast(labels != PAD_ID, tf.float32)}
    return x, y


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class GptPretrainer(BackbonePretrainer):
    """A `GptDecoder` trained to predict the next token.

    Args:
        backbone: `layers.GptDecoder`, named `"backbone"`.

    Call arguments (dict):
        token_ids, padding_mask: int `[batch, sequence]`.

    Returns:
        The backbone's `sequence_output` `[batch, sequence, hidden_dim]`;
        `backbone.logits()` projects it on the vocabulary.

    Example:

    >>> import numpy as np
    >>> from layers import BACKBONE_SIZES, GptDecoder
    >>> backbone = GptDecoder(vocabulary_size=50, name="backbone", **BACKBONE_SIZES["tiny"])
    >>> model = GptPretrainer(backbone)
    >>> x = {"token_ids": np.ones((2, 8), "int32"), "padding_mask": np.ones((2, 8), "int32")}
    >>> tuple(model.backbone.logits(model(x)).shape)
    (2, 8, 50)
    """

    def __init__(self, backbone, **kwargs):
        # Functional model: the hidden states; the loss applies the tied projection.
        inputs = {
            name: keras.Input(shape=(None,), dtype="int32", name=name)
            for name in ("token_ids", "padding_mask")
        }
        super().__init__(inputs=inputs, outputs=backbone(inputs), **kwargs)

        # Config and metrics.
        self.backbone = backbone
        self.lm_loss = keras.metrics.Mean(name="lm_loss")
        self.token_accuracy = keras.metrics.Mean(name="accuracy")
        self.perplexity = Perplexity(name="perplexity")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        weights = y["label_weights"]
        loss, accuracy = self.backbone.language_model_loss(
            y_pred, y["labels"], weights, return_accuracy=True
        )
        # Batch means over the weighted tokens, accumulated token by token.
        num_tokens = ops.sum(weights)
        self.lm_loss.update_state(loss)
        self.token_accuracy.update_state(accuracy, sample_weight=num_tokens)
        self.perplexity.update_state(loss, sample_weight=num_tokens)
        return scale_for_replicas(loss)
