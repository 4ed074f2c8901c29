"""The shared base of the task models: `fit` / `evaluate` / `predict` on raw text."""

import keras
import tensorflow as tf


class TaskModel(keras.Model):
    """A functional Keras model over backbone inputs that also accepts raw text.

    Subclasses build the functional graph, set `self.preprocessor` and define
    `make_dataset(x, y, batch_size, shuffle)`, which turns raw text (Python
    lists, NumPy arrays or a batched `tf.data.Dataset` of strings) into a
    batched dataset of model inputs. Anything else (dicts of token ids, a
    dataset of them) goes straight to `keras.Model`.
    """

    def fit(self, x=None, y=None, batch_size=32, validation_data=None, shuffle=True, **kwargs):
        if self.is_raw_text(x):
            x, y = self.make_dataset(x, y, batch_size, shuffle=shuffle), None
            batch_size = None
        if validation_data is not None and self.is_raw_text(_first(validation_data)):
            validation_data = self.make_dataset(*_split(validation_data), batch_size or 32, shuffle=False)
        shuffle = shuffle and not isinstance(x, tf.data.Dataset)
        return super().fit(x, y, batch_size=batch_size, validation_data=validation_data, shuffle=shuffle, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=32, **kwargs):
        if self.is_raw_text(x):
            x, y, batch_size = self.make_dataset(x, y, batch_size, shuffle=False), None, None
        return super().evaluate(x, y, batch_size=batch_size, **kwargs)

    def predict(self, x, batch_size=32, **kwargs):
        if self.is_raw_text(x):
            x, batch_size = self.make_dataset(x, None, batch_size, shuffle=False), None
        return super().predict(x, batch_size=batch_size, **kwargs)

    def is_raw_text(self, x):
        """Whether `x` holds strings (then the preprocessor handles it)."""
        if isinstance(x, tf.data.Dataset):
            specs = tf.nest.flatten(x.element_spec)
            return bool(specs) and specs[0].dtype == tf.string
        if isinstance(x, dict) or x is None:
            return False
        first = x
        while isinstance(first, (list, tuple)) or hasattr(first, "dtype") and getattr(first, "ndim", 0) > 0:
            if len(first) == 0:
                return False
            first = first[0]
        return isinstance(first, (str, bytes))


def _first(data):
    return data if isinstance(data, tf.data.Dataset) else data[0]


def _split(data):
    if isinstance(data, tf.data.Dataset):
        return data, None
    return data[0], data[1]
