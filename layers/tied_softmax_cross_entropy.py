"""Fused, chunked cross-entropy of hidden states projected on a tied embedding, without full logits."""

import keras
from keras import ops

WEIGHT_EPSILON = 1e-5


def tied_softmax_cross_entropy(
    hidden, embeddings, labels, sample_weight=None, chunk_size=1024, return_accuracy=False, bias=None
):
    """Weighted mean sparse cross-entropy of `hidden @ embeddings.T (+ bias)` against `labels`.

    Computes `sum(w * CE(softmax(h @ E^T), y)) / (sum(w) + 1e-5)` (the
    language-model loss of google-research/bert and our pretrainers) and, in
    the same pass, its gradients with respect to `hidden` and `embeddings`,
    `chunk_size` rows at a time. The `[rows, vocabulary_size]` logits and their
    gradient are never held whole, and the backward pass only scales the stored
    gradients by the incoming scalar gradient, so a training step does three
    vocabulary-sized matmuls (logits, hidden gradient, embedding gradient) and
    no separate softmax-cross-entropy op. With `bias` (BERT's masked-LM output
    bias) the logits get it added and it gets its gradient in the same pass.
    The same pass can count how often the label has the highest logit
    (`return_accuracy`), at no extra matmul.

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
        bias: optional float tensor or variable `[vocabulary_size]` added to
            the logits. Defaults to None (no bias).

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
    if bias is not None:
        bias = ops.cast(ops.convert_to_tensor(bias), "float32")
    loss_and_accuracy = _fused_loss(rows, embeddings, bias, flat_labels, weights, int(chunk_size))
    if return_accuracy:
        return loss_and_accuracy[0], loss_and_accuracy[1]
    return loss_and_accuracy[0]


def _fused_loss(rows, embeddings, bias, labels, weights, chunk_size):
    """`[loss, accuracy]` with a custom gradient for rows, embeddings and bias (if any); the accuracy gets none."""
    differentiable = (rows, embeddings) if bias is None else (rows, embeddings, bias)

    @ops.custom_gradient
    def loss_and_gradient(*variables):
        rows, embeddings, bias = (variables + (None,))[:3]
        loss, accuracy, *gradients = _loss_and_gradients(rows, embeddings, bias, labels, weights, chunk_size)
        gradients = gradients[: len(variables)]  # no bias gradient without a bias

        def gradient(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return tuple(upstream[0] * variable_gradient for variable_gradient in gradients)

        return ops.stack([loss, accuracy]), gradient

    return loss_and_gradient(*differentiable)


def _loss_and_gradients(rows, embeddings, bias, labels, weights, chunk_size):
    """Loss, accuracy and the gradients for rows `[N, H]`, embeddings `[V, H]` and bias `[V]`.

    The gradient of the logits is `scale * (softmax - one_hot(label))`. The
    softmax part is computed chunk by chunk (in one piece when the rows fit in
    one chunk); the one-hot part touches one logit per row, so its share of
    the gradients is a row gather and a segment sum, done once for all rows
    instead of editing every `[C, V]` chunk. Without a bias (None) the bias
    gradient is None.
    """
    scale = weights / (ops.sum(weights) + WEIGHT_EPSILON)  # each row's share of the mean
    num_rows = rows.shape[0]
    if num_rows is not None and num_rows <= chunk_size:
        loss, accuracy, rows_gradient, embeddings_gradient, bias_gradient = _softmax_part(
            rows, labels, scale, embeddings, bias
        )
    else:
        loss, accuracy, rows_gradient, embeddings_gradient, bias_gradient = _softmax_part_in_chunks(
            rows, labels, scale, embeddings, bias, chunk_size
        )
    vocabulary_size = ops.shape(embeddings)[0]
    rows_gradient = rows_gradient - scale[:, None] * ops.take(embeddings, labels, axis=0)
    embeddings_gradient = embeddings_gradient - ops.segment_sum(
        scale[:, None] * rows, labels, num_segments=vocabulary_size
    )
    if bias is not None:
        bias_gradient = bias_gradient - ops.segment_sum(scale, labels, num_segments=vocabulary_size)
    return loss, accuracy, rows_gradient, embeddings_gradient, bias_gradient


def _softmax_part(rows, labels, scale, embeddings, bias):
    """Loss, accuracy and the gradients through `scale * softmax(logits)` (no one-hot part) of rows `[C, H]`."""
    logits = ops.matmul(rows, ops.transpose(embeddings))  # (C, V)
    if bias is not None:
        logits = logits + bias
    row_max = ops.max(logits, axis=1)  # (C,)
    probabilities = ops.softmax(logits, axis=1)  # (C, V), one fused kernel
    # The largest probability is exp(0) / sum(exp(logits - row_max)) >= 1 / V,
    # so its log gives the log-sum-exp without underflow.
    log_normaliser = row_max - ops.log(ops.max(probabilities, axis=1))  # (C,)
    label_logits = ops.take_along_axis(logits, labels[:, None], axis=1)[:, 0]
    loss = ops.sum(scale * (log_normaliser - label_logits))
    accuracy = ops.sum(scale * ops.cast(label_logits >= row_max, "float32"))
    # The softmax gradient is `diag(scale) @ probabilities`; the diagonal is
    # applied to the `[C, H]` operands and results, not to the `[C, V]` matrix.
    rows_gradient = scale[:, None] * ops.matmul(probabilities, embeddings)  # (C, H)
    embeddings_gradient = ops.matmul(ops.transpose(probabilities), scale[:, None] * rows)  # (V, H)
    bias_gradient = None if bias is None else ops.matmul(scale[None, :], probabilities)[0]  # (V,)
    return loss, accuracy, rows_gradient, embeddings_gradient, bias_gradient


def _softmax_part_in_chunks(rows, labels, scale, embeddings, bias, chunk_size):
    """`_softmax_part` over `chunk_size` rows at a time, summing the embedding and bias gradients."""
    num_rows = ops.shape(rows)[0]
    hidden_dim = ops.shape(embeddings)[1]
    num_chunks = (num_rows + chunk_size - 1) // chunk_size
    padding = num_chunks * chunk_size - num_rows
    # Padded rows have scale 0: they add nothing to the loss or the gradients.
    padded_rows = ops.pad(rows, ((0, padding), (0, 0)))  # (num_chunks * C, H)
    padded_labels = ops.pad(labels, ((0, padding),))
    padded_scale = ops.pad(scale, ((0, padding),))

    def chunk_step(index, state):
        loss, accuracy, rows_gradient, embeddings_gradient, bias_gradient = state
        start = index * chunk_size
        chunk_rows = ops.slice(padded_rows, (start, 0), (chunk_size, hidden_dim))  # (C, H)
        chunk = _softmax_part(
            chunk_rows,
            ops.slice(padded_labels, (start,), (chunk_size,)),
            ops.slice(padded_scale, (start,), (chunk_size,)),
            embeddings,
            bias,
        )
        rows_gradient = ops.slice_update(rows_gradient, (start, 0), chunk[2])
        return (
            loss + chunk[0],
            accuracy + chunk[1],
            rows_gradient,
            embeddings_gradient + chunk[3],
            bias_gradient if bias is None else bias_gradient + chunk[4],
        )

    initial = (
        ops.zeros((), "float32"),
        ops.zeros((), "float32"),
        ops.zeros_like(padded_rows),
        ops.zeros_like(embeddings),
        ops.zeros((), "float32") if bias is None else ops.zeros_like(bias),
    )
    loss, accuracy, rows_gradient, embeddings_gradient, bias_gradient = ops.fori_loop(
        0, num_chunks, chunk_step, initial
    )
    return loss, accuracy, rows_gradient[:num_rows], embeddings_gradient, None if bias is None else bias_gradient
