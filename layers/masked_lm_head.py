"""Masked language-model head, computed only at the masked positions."""

import keras
from keras import ops

from layers.activations import get_activation
from layers.initializers import truncated_normal
from layers.tied_softmax_cross_entropy import tied_softmax_cross_entropy
from layers.token_embedding import TokenEmbedding


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class MaskedLMHead(keras.layers.Layer):
    """Vocabulary logits at the masked positions: gather, dense + activation + LayerNorm, tied projection + bias.

    Only the `P` masked positions of each sequence are gathered before the
    transform, so the cost of the vocabulary projection scales with `P`, not
    with the sequence length. With `token_embedding` the output projection is
    the transposed token-embedding matrix (BERT's weight tying); otherwise the
    head owns a `[hidden_dim, vocabulary_size]` kernel. For training,
    `masked_lm_loss` gives the cross-entropy of these logits without
    materialising them (fused with its gradient, `tied_softmax_cross_entropy`).

    A tied head serialises a copy of the embedding's config, so a head rebuilt
    from config alone owns a fresh embedding; a model that keeps the tie after
    reloading passes the backbone's `token_embedding` again in its own
    `from_config`.

    Args:
        vocabulary_size: int. Number of output logits; may be None when
            `token_embedding` is given.
        token_embedding: `TokenEmbedding` or None. The embedding to tie to.
        activation: str. Activation of the transform. Defaults to `"gelu"`
            (exact, as keras-hub's `BertMaskedLM`).
        layer_norm_epsilon: float. Defaults to 1e-12.
        kernel_initializer: initializer. Defaults to
            `TruncatedNormal(stddev=0.02)`.
        bias_initializer: initializer. Defaults to `"zeros"`.

    Call arguments:
        sequence_output: float tensor `[batch, sequence, hidden_dim]`.
        mask_positions: int tensor `[batch, P]` of positions to predict, or
            None when `sequence_output` is already `[batch, P, hidden_dim]`
            at those positions (`BertEncoder.call_at_positions`).
        return_features: bool. Return the transformed hidden states
            `[batch, P, hidden_dim]` (gather, dense + activation + LayerNorm)
            instead of logits; `features_loss` and `logits` take them on.
            Defaults to False.

    Returns:
        Logits `[batch, P, vocabulary_size]`, or the features.

    Example:

    >>> import numpy as np
    >>> from layers import MaskedLMHead, TokenEmbedding
    >>> embedding = TokenEmbedding(vocabulary_size=20, hidden_dim=8)
    >>> head = MaskedLMHead(token_embedding=embedding)
    >>> encoded = np.random.rand(2, 6, 8).astype("float32")
    >>> tuple(head(encoded, np.array([[1, 4], [0, 2]])).shape)
    (2, 2, 20)
    >>> features = head(encoded, np.array([[1, 4], [0, 2]]), return_features=True)
    >>> tuple(features.shape), tuple(head.logits(features).shape)
    ((2, 2, 8), (2, 2, 20))
    >>> labels = np.array([[3, 7], [1, 9]])
    >>> loss = head.masked_lm_loss(encoded, labels, mask_positions=np.array([[1, 4], [0, 2]]))
    >>> tuple(loss.shape)
    ()

    Reference:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805), appendix A.1
    """

    def __init__(
        self,
        vocabulary_size=None,
        token_embedding=None,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        kernel_initializer=None,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if vocabulary_size is None and token_embedding is None:
            raise ValueError("Set `vocabulary_size` or `token_embedding`.")
        if token_embedding is not None:
            if vocabulary_size is not None and vocabulary_size != token_embedding.vocabulary_size:
                raise ValueError(
                    f"`vocabulary_size`={vocabulary_size} differs from the tied "
                    f"`token_embedding.vocabulary_size`={token_embedding.vocabulary_size}."
                )
            vocabulary_size = token_embedding.vocabulary_size
        self.vocabulary_size = int(vocabulary_size)
        self.token_embedding = token_embedding
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer or truncated_normal())
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.transform_dense = None
        self.transform_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="transform_layer_norm"
        )

    def build(self, sequence_output_shape, mask_positions_shape=None):
        hidden_dim = sequence_output_shape[-1]
        self.transform_dense = keras.layers.Dense(
            hidden_dim,
            activation=get_activation(self.activation),
            kernel_initializer=self.kernel_initializer.__class__.from_config(
                self.kernel_initializer.get_config()
            ),
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="transform_dense",
        )
        gathered_shape = (sequence_output_shape[0], None, hidden_dim)
        self.transform_dense.build(gathered_shape)
        self.transform_layer_norm.build(gathered_shape)
        self.output_kernel = None
        if self.token_embedding is None:
            self.output_kernel = self.add_weight(
                name="output_kernel",
                shape=(hidden_dim, self.vocabulary_size),
                initializer=self.kernel_initializer,
            )
        elif not self.token_embedding.built:
            self.token_embedding.build()
        self.output_bias = self.add_weight(
            name="output_bias", shape=(self.vocabulary_size,), initializer=self.bias_initializer
        )
        self.built = True

    def call(self, sequence_output, mask_positions=None, return_features=False):
        features = self._transform(self._gather(sequence_output, mask_positions))
        return features if return_features else self.logits(features)

    def masked_lm_loss(
        self, sequence_output, labels, sample_weight=None, mask_positions=None, return_accuracy=False
    ):
        """Weighted mean cross-entropy of this head's logits against `labels` `[batch, P]`.

        Equal to `sum(w * sparse_cross_entropy(head(sequence_output,
        mask_positions), labels)) / (sum(w) + 1e-5)`, but the vocabulary
        projection, its bias, the softmax cross-entropy and their gradients run
        fused and chunked (`tied_softmax_cross_entropy`), so the
        `[batch, P, vocabulary_size]` logits are never materialised. Use it in a
        training model's `compute_loss`. With `return_accuracy`, returns
        `(loss, accuracy)`.
        """
        if not self.built:
            self.build(tuple(sequence_output.shape))
        features = self._transform(self._gather(sequence_output, mask_positions))
        return self.features_loss(features, labels, sample_weight, return_accuracy=return_accuracy)

    def features_loss(self, features, labels, sample_weight=None, return_accuracy=False):
        """`masked_lm_loss` of features the head has already transformed (`return_features=True`).

        A training model whose graph ends in `head(..., return_features=True)`
        (so the head stays one of its layers) trains on this in `compute_loss`.
        """
        if self.token_embedding is not None:
            embeddings = self.token_embedding.embeddings  # (V, H)
        else:
            embeddings = ops.transpose(self.output_kernel)  # (V, H)
        return tied_softmax_cross_entropy(
            features, embeddings, labels, sample_weight, return_accuracy=return_accuracy, bias=self.output_bias
        )

    def _gather(self, sequence_output, mask_positions):
        """`sequence_output` at `mask_positions` `(B, P)` -> `(B, P, H)`; as is when there are no positions."""
        if mask_positions is None:  # already gathered, e.g. by `BertEncoder.call_at_positions`
            return sequence_output
        if not keras.backend.standardize_dtype(mask_positions.dtype).startswith(("int", "uint")):
            raise ValueError(
                f"`mask_positions` must be an integer tensor, got dtype {mask_positions.dtype}."
            )
        if len(mask_positions.shape) != 2:
            raise ValueError(
                "`mask_positions` must have shape [batch, P], "
                f"got shape {tuple(mask_positions.shape)}."
            )
        # (B, T, H) gathered at (B, P, 1) -> (B, P, H)
        return ops.take_along_axis(sequence_output, mask_positions[:, :, None], axis=1)

    def _transform(self, x):
        """Dense + activation + LayerNorm of gathered hidden states `(B, P, H)`."""
        return self.transform_layer_norm(self.transform_dense(x))

    def logits(self, x):
        """Logits `(B, P, V)` of transformed hidden states `(B, P, H)` (`return_features=True`)."""
        if self.token_embedding is not None:
            logits = self.token_embedding(x, reverse=True)
        else:
            logits = ops.matmul(x, self.output_kernel)
        return logits + self.output_bias

    def compute_output_spec(self, sequence_output, mask_positions=None, return_features=False):
        rows = tuple(sequence_output.shape[:-1]) if mask_positions is None else tuple(mask_positions.shape)
        width = sequence_output.shape[-1] if return_features else self.vocabulary_size
        return keras.KerasTensor(rows + (width,), dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "token_embedding": (
                    None
                    if self.token_embedding is None
                    else keras.layers.serialize(self.token_embedding)
                ),
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("token_embedding") is not None:
            config["token_embedding"] = keras.layers.deserialize(
                config["token_embedding"], custom_objects={"TokenEmbedding": TokenEmbedding}
            )
        return cls(**config)
