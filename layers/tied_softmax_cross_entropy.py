"""Fused, chunked cross-entropy of hidden states projected on a tied embedding, without full logits."""

import keras
from keras import ops

WEIGHT_EPSILON = 1e-5


def tied_softmax_cross_entropy(
    hidden, embeddings, labels, sample_weight=None, chunk_size=1024, return_accuracy=False
):
    """Weighted mean sparse cross-entropy of `hidden @ embeddings.T` against `labels`.

    Computes `sum(w * CE(softmax(h @ E^T), y)) / (sum(w) + 1e-5)` (the
    language-model loss of google-research/bert and our pretrainers) and, in
    the same pass, its gradients with respect to `hidden` and `embeddings`,
    `chunk_size` rows at a time. The `[rows, vocabulary_size]` logits and their
    gradient are never held whole, and the backward pass only scales the stored
    gradients by the incoming scalar gradient, so a training step does three
    vocabulary-sized matmuls (logits, hidden gradient, embedding gradient) and
    no separate softmax-cross-entropy op. The same pass can count how often
    the label has the highest logit (`return_accuracy`), at no extra matmul.

    Args:
        hidden: float tensor `[..., hidden_dim]` (e.g. GPT `sequence_output`).
        embeddings: float tensor or variable `[vocabulary_size, hidden_dim]`,
            the tied output projection (`TokenEmbedding.embeddings`).
        labels: int tensor `hidden.shape[:-1]`, target ids.
        sample_weight: optional float tensor `hidden.shape[:-1]` (0 drops a
            position). Defaults to all ones. Gets no gradient.
        chunk_size: int. Rows per chunk; the peak extra memory is
            `chunk_size * vocabulary_size` floats.
        return_accuracy: bool. Also return the weighted share of rows whose
            label has the highest logit (ties count as right). Defaults to
            False.

    Returns:
        Scalar float32 loss, or `(loss, accuracy)` with `return_accuracy`.

    Example:

    >>> import numpy as np
    >>> from layers.tied_softmax_cross_entropy import tied_softmax_cross_entropy
    >>> hidden = np.ones((2, 3, 4), "float32")
    >>> embeddings = np.zeros((10, 4), "float32")
    >>> loss = tied_softmax_cross_entropy(hidden, embeddings, np.ones((2, 3), "int32"))
    >>> round(float(loss), 4)  # uniform over 10 ids: log(10)
    2.3026
    """
    if int(chunk_size) < 1:
        raise ValueError(f"`chunk_size` must be a positive int, got {chunk_size!r}.")
    labels_dtype = keras.backend.standardize_dtype(ops.convert_to_tensor(labels).dtype)
    if not labels_dtype.startswith(("int", "uint")):
        raise ValueError(f"`labels` must be an integer tensor, got dtype {labels_dtype}.")
    embeddings = ops.cast(ops.convert_to_tensor(embeddings), "float32")
    hidden_dim = ops.shape(embeddings)[1]
    rows = ops.reshape(ops.cast(hidden, "float32"), (-1, hidden_dim))  # (N, H)
    flat_labels = ops.reshape(ops.cast(labels, "int32"), (-1,))  # (N,)
    if sample_weight is None:
        weights = ops.ones_like(flat_labels, dtype="float32")
    else:
        weights = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))  # (N,)
    loss_and_accuracy = _fused_loss(rows, embeddings, flat_labels, weights, int(chunk_size))
    if return_accuracy:
        return loss_and_accuracy[0], loss_and_accuracy[1]
    return loss_and_accuracy[0]


def _fused_loss(rows, embeddings, labels, weights, chunk_size):
    """`[loss, accuracy]` with a custom gradient (the accuracy gets none)."""

    @ops.custom_gradient
    def loss_and_gradient(rows, embeddings):
        loss, accuracy, rows_gradient, embeddings_gradient = _loss_and_gradients(
            rows, embeddings, labels, weights, chunk_size
        )

        def gradient(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            loss_upstream = upstream[0]
            return loss_upstream * rows_gradient, loss_upstream * embeddings_gradient

        return ops.stack([loss, accuracy]), gradient

    return loss_and_gradient(rows, embeddings)


def _loss_and_gradients(rows, embeddings, labels, weights, chunk_size):
    """Loss, accuracy, d loss / d rows `[N, H]` and d loss / d embeddings `[V, H]`, chunk by chunk."""
    num_rows = ops.shape(rows)[0]
    hidden_dim = ops.shape(embeddings)[1]
    num_chunks = (num_rows + chunk_size - 1) // chunk_size
    padding = num_chunks * chunk_size - num_rows
    # Padded rows have weight 0: they add nothing to the loss or the gradients.
    rows = ops.pad(rows, ((0, padding), (0, 0)))  # (num_chunks * C, H)
    labels = ops.pad(labels, ((0, padding),))
    scale = weights / (ops.sum(weights) + WEIGHT_EPSILON)  # each row's share of the mean
    scale = ops.pad(scale, ((0, padding),))

    def chunk_step(index, state):
        loss, accuracy, rows_gradient, embeddings_gradient = state
        start = index * chunk_size
        chunk_rows = ops.slice(rows, (start, 0), (chunk_size, hidden_dim))  # (C, H)
        chunk_labels = ops.slice(labels, (start,), (chunk_size,))
        chunk_scale = ops.slice(scale, (start,), (chunk_size,))
        logits = ops.matmul(chunk_rows, ops.transpose(embeddings))  # (C, V)
        row_max = ops.stop_gradient(ops.max(logits, axis=1, keepdims=True))
        exponentials = ops.exp(logits - row_max)
        normaliser = ops.sum(exponentials, axis=1)  # (C,)
        label_logits = ops.take_along_axis(logits, chunk_labels[:, None], axis=1)[:, 0]
        row_loss = ops.log(normaliser) + row_max[:, 0] - label_logits
        loss = loss + ops.sum(chunk_scale * row_loss)
        label_is_highest = ops.cast(label_logits >= row_max[:, 0], "float32")
        accuracy = accuracy + ops.sum(chunk_scale * label_is_highest)
        # d loss / d logits = scale * (softmax - one_hot(label)).
        logits_gradient = exponentials * (chunk_scale / normaliser)[:, None]
        label_positions = ops.stack([ops.arange(chunk_size, dtype="int32"), chunk_labels], axis=1)
        label_probabilities = ops.take_along_axis(logits_gradient, chunk_labels[:, None], axis=1)[:, 0]
        logits_gradient = ops.scatter_update(logits_gradient, label_positions, label_probabilities - chunk_scale)
        rows_gradient = ops.slice_update(
            rows_gradient, (start, 0), ops.matmul(logits_gradient, embeddings)
        )
        embeddings_gradient = embeddings_gradient + ops.matmul(ops.transpose(logits_gradient), chunk_rows)
        return loss, accuracy, rows_gradient, embeddings_gradient

    initial = (
        ops.zeros((), "float32"),
        ops.zeros((), "float32"),
        ops.zeros_like(rows),
        ops.zeros_like(embeddings),
    )
    loss, accuracy, rows_gradient, embeddings_gradient = ops.fori_loop(
        0, num_chunks, chunk_step, initial
    )
    return loss, accuracy, rows_gradient[:num_rows], embeddings_gradient
