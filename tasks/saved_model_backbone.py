"""A backbone SavedModel (from `saved_models.backbone_export`) as a trainable Keras layer."""

import keras
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tf-text ops the SavedModel uses)


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class SavedModelBackbone(keras.layers.Layer):
    """Loads `OUTPUT/backbone` and calls its `encode` functions, weights trainable.

    `keras.layers.TFSMLayer` would name the weights after the restored
    variables, whose names end in ':0', which Keras 3.15 optimizers reject;
    this layer wraps each restored variable in a `keras.Variable` with a clean
    name instead (same storage, no copy). The recipe for projects that do not
    import ours is in `saved_models/backbone_export.py`.

    Args:
        path: str. Directory of the backbone SavedModel.

    Call arguments:
        inputs: dict of int32 [B, T] tensors named as `input_names`.
        training: bool. Dropout on when True.

    Example:
    >>> backbone = SavedModelBackbone("runs/pretrained/backbone")  # doctest: +SKIP
    >>> backbone.input_names  # doctest: +SKIP
    ['padding_mask', 'segment_ids', 'token_ids']
    """

    def __init__(self, path, **kwargs):
        super().__init__(**kwargs)
        self.filepath = path
        self.saved = tf.saved_model.load(path)
        self.saved_weights = [
            keras.Variable(v, name=v.name.split(":")[0].replace("/", "_"), trainable=v.trainable)
            for v in self.saved.variables
        ]
        spec = self.saved.signatures["serving_default"].structured_input_signature[1]
        self.input_names = sorted(spec)

    def call(self, inputs, training=False):
        inputs = {name: tf.cast(inputs[name], tf.int32) for name in self.input_names}
        encode = self.saved.encode_training if training else self.saved.encode
        return encode(inputs)

    def get_config(self):
        config = super().get_config()
        config["path"] = self.filepath
        return config
