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

    Example (export a tiny BERT backbone, then load it back as a layer):
    >>> import os, tempfile
    >>> import numpy as np
    >>> from layers import BertEncoder
    >>> from pretrain.text.tokenizer import SPECIAL_TOKENS, save_vocabulary
    >>> from saved_models.backbone_export import export_backbone
    >>> directory = tempfile.mkdtemp()
    >>> vocabulary_path = os.path.join(directory, "vocab.txt")
    >>> save_vocabulary(list(SPECIAL_TOKENS) + ["good", "film"], vocabulary_path)
    >>> encoder = BertEncoder.from_size("tiny", vocabulary_size=7, max_sequence_length=16)
    >>> path = export_backbone(encoder, os.path.join(directory, "backbone"), vocabulary_path, {}, seq_length=8)
    >>> backbone = SavedModelBackbone(os.path.join(directory, "backbone"))
    >>> backbone.input_names
    ['padding_mask', 'segment_ids', 'token_ids']
    >>> ones = np.ones((1, 8), "int32")
    >>> outputs = backbone({"token_ids": ones * 5, "segment_ids": ones * 0, "padding_mask": ones})
    >>> tuple(outputs["sequence_output"].shape), tuple(outputs["pooled_output"].shape)
    ((1, 8, 128), (1, 128))
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
