"""The root object of the toolkit's SavedModels: a `tf.Module` that keeps the variables as plain attributes.

TF Hub's convention (read by `hub.KerasLayer` and by `tf.saved_model.load` users) is a root with `variables`
and `trainable_variables` lists saved beside the functions. `tf.Module` computes both as read-only
properties that a reload does not restore; this subclass shadows them with plain class attributes, so an
export assigns the lists and they are saved and restored like any tracked attribute.

Example:

>>> import tempfile
>>> import tensorflow as tf
>>> root = SavedModelRoot()
>>> root.weight = tf.Variable(2.0)
>>> root.variables = [root.weight]
>>> root.double = tf.function(lambda x: x * root.weight, input_signature=[tf.TensorSpec([], tf.float32)])
>>> path = tempfile.mkdtemp()
>>> tf.saved_model.save(root, path)
>>> loaded = tf.saved_model.load(path)
>>> float(loaded.double(3.0)), len(loaded.variables)
(6.0, 1)
"""

import tensorflow as tf


class SavedModelRoot(tf.Module):
    """A `tf.Module` whose `variables` and `trainable_variables` are lists the export sets."""

    variables = ()
    trainable_variables = ()
