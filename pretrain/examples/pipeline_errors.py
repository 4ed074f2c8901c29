"""Turns a `UsageError` raised inside a tf.data Python generator back into a `UsageError`.

tf.data wraps exceptions from `Dataset.from_generator` in `tf.errors.OpError`
(e.g. an undecodable line found in the middle of a corpus). Wrap the loop that
iterates the dataset in `usage_errors_from_pipeline()` so the CLI prints the
one-line message instead of a TensorFlow traceback.

Example:

>>> from pretrain.errors import UsageError
>>> def lines():
...     raise UsageError("corpus.txt:7: not UTF-8")
...     yield "never"
>>> dataset = tf.data.Dataset.from_generator(lines, output_signature=tf.TensorSpec([], tf.string))
>>> try:
...     with usage_errors_from_pipeline():
...         _ = list(dataset)
... except UsageError as error:
...     print(error)
corpus.txt:7: not UTF-8
"""

import contextlib
import re

import tensorflow as tf

from pretrain.errors import UsageError

_MESSAGE = re.compile(r"UsageError: (.*?)(?:\nTraceback|$)", re.DOTALL)


@contextlib.contextmanager
def usage_errors_from_pipeline():
    """Re-raises a wrapped `UsageError` with its own message; other errors pass through."""
    try:
        yield
    except tf.errors.OpError as error:
        match = _MESSAGE.search(error.message)
        if match is None:
            raise
        raise UsageError(match.group(1).strip()) from None
