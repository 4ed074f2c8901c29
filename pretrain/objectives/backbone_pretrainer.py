"""The base of every pretraining model: a backbone plus heads, saved with the backbone inside its config."""

import keras
import tensorflow as tf
from keras import ops

# google-research/bert's guard against a batch without any real prediction.
WEIGHT_EPSILON = 1e-5


def weighted_mean_loss(per_token_loss, weights):
    """sum(w * loss) / (sum(w) + 1e-5), as google-research/bert's masked-LM loss."""
    return ops.sum(per_token_loss * weights) / (ops.sum(weights) + WEIGHT_EPSILON)


def scale_for_replicas(loss):
    """Divides by the replica count: replicas' gradients are summed, not averaged (`tf.distribute`;
    other backends train one replica per process)."""
    if keras.backend.backend() != "tensorflow":
        return loss
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


class BackbonePretrainer(keras.Model):
    """A functional pretraining model that keeps its backbone as `self.backbone`.

    Its config holds the serialised backbone and the subclass's own arguments
    (`extra_config`); `from_config` rebuilds the backbone first, then the model
    through its constructor, so heads tied to the backbone stay tied after a
    reload. Subclasses set `self.backbone` after building the functional graph
    and register themselves with `keras.saving.register_keras_serializable`.
    """

    def extra_config(self):
        """The subclass's constructor arguments besides `backbone`, `name` and `trainable`."""
        return {}

    def get_config(self):
        return {
            "backbone": keras.layers.serialize(self.backbone),
            **self.extra_config(),
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)
