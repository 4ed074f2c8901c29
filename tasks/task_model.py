"""The shared base of the task models: a dense head on a backbone output, `fit` / `evaluate` / `predict` on raw
text, and the config that makes the `.keras` file self-contained."""

import keras
import tensorflow as tf

from layers.masked_mean_pooling import MaskedMeanPooling


class TaskModel(keras.Model):
    """A functional Keras model: backbone output -> dropout -> dense logits,
    that also accepts raw text.

    Subclasses pass the backbone output to use (`pooled_output` for
    classification, `sequence_output` for tagging), set `preprocessor_class`
    and define `make_dataset(x, y, batch_size, shuffle)`, which turns raw
    text (Python lists, NumPy arrays or a batched `tf.data.Dataset` of
    strings) into a batched dataset of model inputs with `self.preprocessor`.
    Anything else (dicts of token ids, a dataset of them) goes straight to
    `keras.Model`.

    Args:
        backbone: a `layers.BertEncoder` or `tasks.SavedModelBackbone`.
        backbone_output: str. The backbone output the head reads.
        units: int. Width of the dense head (classes, tags or targets).
        preprocessor: the subclass's preprocessor, or None (then `x` must be
            token-id dicts).
        dropout: float. Dropout before the dense layer.
        mean_pooled: bool. The head reads the mean of `backbone_output` over
            the real tokens (`padding_mask`) instead of the output itself.
    """

    preprocessor_class = None

    def __init__(self, backbone, backbone_output, units, preprocessor=None, dropout=0.1, mean_pooled=False, **kwargs):
        # === Layers ===
        head_dropout = keras.layers.Dropout(dropout, name="head_dropout")
        head = keras.layers.Dense(units, name="logits")

        # === Functional model ===
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in backbone_input_names(backbone)}
        features = backbone(inputs)[backbone_output]
        if mean_pooled:
            features = MaskedMeanPooling(name="mean_pooling")(features, inputs["padding_mask"])
        logits = head(head_dropout(features))
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

        # === Config ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.dropout = dropout

    def fit(self, x=None, y=None, batch_size=32, validation_data=None, shuffle=True, **kwargs):
        if self.is_raw_text(x):
            x, y = self._raw_text_dataset(x, y, batch_size, shuffle=shuffle), None
            batch_size = None
        if validation_data is not None and self.is_raw_text(_first(validation_data)):
            validation_data = self._raw_text_dataset(*_split(validation_data), batch_size or 32, shuffle=False)
        shuffle = shuffle and not isinstance(x, tf.data.Dataset)
        return super().fit(x, y, batch_size=batch_size, validation_data=validation_data, shuffle=shuffle, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=32, **kwargs):
        if self.is_raw_text(x):
            x, y, batch_size = self._raw_text_dataset(x, y, batch_size, shuffle=False), None, None
        return super().evaluate(x, y, batch_size=batch_size, **kwargs)

    def predict(self, x, batch_size=32, **kwargs):
        if self.is_raw_text(x):
            x, batch_size = self._raw_text_dataset(x, None, batch_size, shuffle=False), None
        return super().predict(x, batch_size=batch_size, **kwargs)

    def _raw_text_dataset(self, x, y, batch_size, shuffle):
        if self.preprocessor is None:
            raise ValueError(f"This {type(self).__name__} has no preprocessor: pass token-id dicts, not raw text.")
        return self.make_dataset(x, y, batch_size, shuffle=shuffle)

    def is_raw_text(self, x):
        """Whether `x` holds strings (then the preprocessor handles it)."""
        if isinstance(x, tf.data.Dataset):
            specs = tf.nest.flatten(x.element_spec)
            return bool(specs) and specs[0].dtype == tf.string
        if isinstance(x, dict) or x is None:
            return False
        return isinstance(_first_leaf(x), (str, bytes))

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "preprocessor": self.preprocessor.get_config() if self.preprocessor is not None else None,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        if config.get("preprocessor") is not None:
            config["preprocessor"] = cls.preprocessor_class.from_config(config["preprocessor"])
        return cls(**config)


def default_optimizer(learning_rate):
    """The optimizer `compile_for_task` uses unless given one: AdamW with BERT's weight decay."""
    return keras.optimizers.AdamW(learning_rate, weight_decay=0.01)


def backbone_input_names(backbone):
    """The input names a backbone expects (functional models and SavedModel layers)."""
    if hasattr(backbone, "input_names") and not isinstance(backbone, keras.Model):
        return list(backbone.input_names)
    return sorted(backbone.input)


def _first_leaf(x):
    """The first scalar in nested lists/tuples/arrays, skipping empty ones (e.g. a sentence with no words)."""
    if isinstance(x, (list, tuple)) or hasattr(x, "dtype") and getattr(x, "ndim", 0) > 0:
        for item in x:
            leaf = _first_leaf(item)
            if leaf is not None:
                return leaf
        return None
    return x


def _first(data):
    return data if isinstance(data, tf.data.Dataset) else data[0]


def _split(data):
    if isinstance(data, tf.data.Dataset):
        return data, None
    return data[0], data[1]
