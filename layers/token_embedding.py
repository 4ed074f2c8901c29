"""Token embedding with a tied reverse projection to vocabulary logits."""

import keras
from keras import ops

from layers.initializers import truncated_normal


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class TokenEmbedding(keras.layers.Layer):
    """Maps token ids to vectors and, reversed, vectors to vocabulary logits.

    The same `embeddings` matrix `[vocabulary_size, hidden_dim]` is used both
    ways, which ties the input embedding to the output projection of a
    masked-LM head or a GPT language-model head (Press & Wolf, 2017). The
    forward lookup is a gather, so its gradient stays sparse (only the rows of
    the tokens in the batch).

    Args:
        vocabulary_size: int. Number of rows of the embedding matrix.
        hidden_dim: int. Size of each embedding vector.
        embeddings_initializer: initializer. Defaults to
            `TruncatedNormal(stddev=0.02)`.

    Call arguments:
        inputs: int tensor `[batch, sequence]` of token ids, or, with
            `reverse=True`, float tensor `[..., hidden_dim]`.
        reverse: bool. If True, return `inputs @ embeddings.T`, logits of shape
            `[..., vocabulary_size]`. Defaults to False.

    Example:

    >>> import numpy as np
    >>> from layers import TokenEmbedding
    >>> embedding = TokenEmbedding(vocabulary_size=10, hidden_dim=4)
    >>> vectors = embedding(np.array([[1, 2, 3]]))
    >>> tuple(vectors.shape)
    (1, 3, 4)
    >>> tuple(embedding(vectors, reverse=True).shape)
    (1, 3, 10)

    Reference:
        - [Press & Wolf, 2017](https://arxiv.org/abs/1608.05859)
    """

    def __init__(
        self,
        vocabulary_size,
        hidden_dim,
        embeddings_initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if vocabulary_size is None or int(vocabulary_size) < 1:
            raise ValueError(f"`vocabulary_size` must be a positive int, got {vocabulary_size!r}.")
        if hidden_dim is None or int(hidden_dim) < 1:
            raise ValueError(f"`hidden_dim` must be a positive int, got {hidden_dim!r}.")
        self.vocabulary_size = int(vocabulary_size)
        self.hidden_dim = int(hidden_dim)
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer or truncated_normal()
        )

    def build(self, inputs_shape=None):
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.vocabulary_size, self.hidden_dim),
            initializer=self.embeddings_initializer,
        )
        self.built = True

    def call(self, inputs, reverse=False):
        if reverse:
            kernel = ops.transpose(ops.convert_to_tensor(self.embeddings))  # (H, V)
            return ops.matmul(inputs, kernel)
        if not keras.backend.standardize_dtype(inputs.dtype).startswith(("int", "uint")):
            raise ValueError(
                f"`token_ids` must be an integer tensor, got dtype {inputs.dtype}."
            )
        return ops.take(self.embeddings, inputs, axis=0)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "embeddings_initializer": keras.initializers.serialize(
                    self.embeddings_initializer
                ),
            }
        )
        return config
