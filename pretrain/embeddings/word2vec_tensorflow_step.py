"""The TensorFlow step of `Word2VecTrainer`: gradients of a batch of consecutive tokens, sparse updates.

Used where the fused C++ op does not apply (hierarchical softmax, fastText subwords, several replicas, or a
machine where the op cannot be built). `Word2VecTrainer` inherits it; the attributes it reads are the
trainer's: `config`, `strategy`, the tables (`input_table`, `negative_table`, `tree_table`), the subword
rows and weights, `negative_cdf` and the Huffman tree constants. The algorithm is described in
`word2vec.py`.
"""

import functools

import numpy as np
import tensorflow as tf

NEGATIVE_TABLE_SIZE = 10_000_000  # word2vec.c uses 1e8; 1e7 resolves probabilities down to 1e-7


def shift(x, offset):
    """y[i] = x[i + offset], zero where i + offset falls outside (static offset)."""
    if offset == 0:
        return x
    pad = tf.zeros_like(x[: abs(offset)])
    if offset > 0:
        return tf.concat([x[offset:], pad], axis=0)
    return tf.concat([pad, x[:offset]], axis=0)


def row_sums(rows, coefficients, owners, vectors):
    """For each distinct row r: the sum of coefficients[e] * vectors[owners[e]] over entries e with rows[e] = r.

    One sparse (N, U) x dense (N, D) product, with no (entries, D) array of
    scaled copies and no scatter of repeated rows. Returns (U,) rows, (U, D) sums.
    """
    unique_rows, positions = tf.unique(rows)
    indices = tf.cast(tf.stack([owners, positions], axis=1), tf.int64)
    shape = tf.cast(tf.stack([tf.shape(vectors)[0], tf.size(unique_rows)]), tf.int64)
    matrix = tf.SparseTensor(indices, coefficients, shape)  # (N, U)
    return unique_rows, tf.sparse.sparse_dense_matmul(matrix, vectors, adjoint_a=True)


def repeated_owners(size, repeats):
    """Owner ids of a flattened (size, repeats) array: 0 x repeats, 1 x repeats, ..."""
    return tf.repeat(tf.range(size), repeats)


class TensorFlowStep:
    """The TensorFlow step of `Word2VecTrainer` (a base class: it holds no state of its own)."""

    def _input_vectors(self, tokens):
        rows = tf.gather(self.subword_rows, tokens)  # (N, S)
        weights = tf.gather(self.subword_weights, tokens)  # (N, S)
        vectors = tf.gather(self.input_table, rows)  # (N, S, D)
        if self.subword_rows.shape[1] == 1:
            return vectors[:, 0], rows, weights  # word2vec: the word's own row
        return tf.reduce_sum(weights[:, :, None] * vectors, axis=1), rows, weights

    def _pair_masks(self, tokens, documents, valid, seed):
        """For each offset o, mask[i] = 1 if (centre i, context i+o) is a training pair."""
        window = self.config.window
        shrink = tf.random.stateless_uniform(tf.shape(tokens), seed, 0, window, tf.int32)
        effective = window - shrink  # word2vec's reduced window, uniform in 1..window
        masks = {}
        for offset in [o for o in range(-window, window + 1) if o]:
            pair = valid & shift(valid, offset) & tf.equal(shift(documents, offset), documents)
            masks[offset] = tf.cast(pair & (abs(offset) <= effective), tf.float32)
        return masks

    def _negative_terms(self, hidden, weight, seed):
        """Negative-sampling loss and gradients for rows `hidden` (N, D), each weighted by `weight` (N,).

        Each row draws `negative` words from unigram^0.75; a skip-gram centre
        shares its draws among its context pairs (`weight` = their number).
        """
        config = self.config
        slots = tf.random.stateless_uniform(
            [tf.shape(hidden)[0], config.negative], seed + 1, 0, NEGATIVE_TABLE_SIZE, tf.int32
        )
        negatives = tf.gather(self.negative_table_ids, slots)  # (N, K)
        negative_vectors = tf.gather(self.negative_table, negatives)  # (N, K, D)
        scores = tf.einsum("nd,nkd->nk", hidden, negative_vectors)
        loss = tf.reduce_sum(tf.math.softplus(scores) * weight[:, None])
        gradient = -tf.sigmoid(scores) * weight[:, None]  # d log-likelihood / d score
        d_hidden = tf.einsum("nk,nkd->nd", gradient, negative_vectors)
        return loss, d_hidden, negatives, gradient  # d negative_vectors[n, k] = gradient[n, k] * hidden[n]

    def _tree_terms(self, hidden, targets, weight):
        """Hierarchical-softmax loss and gradients of rows `hidden` (N, D) predicting `targets` (N,)."""
        points = tf.gather(self.tree_points, targets)  # (N, L)
        labels = tf.gather(self.tree_labels, targets)
        mask = tf.gather(self.tree_mask, targets) * weight[:, None]
        nodes = tf.gather(self.tree_table, points)  # (N, L, D)
        scores = tf.einsum("nd,nld->nl", hidden, nodes)
        loss = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels, scores) * mask)
        gradient = (labels - tf.sigmoid(scores)) * mask
        d_hidden = tf.einsum("nl,nld->nd", gradient, nodes)
        return loss, d_hidden, points, gradient  # d nodes[n, l] = gradient[n, l] * hidden[n]

    def _skipgram(self, tokens, documents, valid, seed):
        inputs, rows, weights = self._input_vectors(tokens)
        size = tf.shape(tokens)[0]
        masks = self._pair_masks(tokens, documents, valid, seed)
        pairs = tf.add_n(list(masks.values()))  # (N,) pairs per centre
        loss, d_inputs = tf.zeros([]), tf.zeros_like(inputs)
        output_updates = []
        if self.config.negative:
            # Every context of every centre at once: one (N, 2w, D) gather instead of a pass per offset.
            offsets = list(masks)
            pair_mask = tf.stack([masks[o] for o in offsets], axis=1)  # (N, 2w)
            positions = tf.clip_by_value(tf.range(size)[:, None] + offsets, 0, size - 1)
            context_ids = tf.gather(tokens, positions)  # (N, 2w)
            contexts = tf.gather(self.negative_table, context_ids)  # (N, 2w, D)
            scores = tf.einsum("nd,nod->no", inputs, contexts)
            loss += tf.reduce_sum(tf.math.softplus(-scores) * pair_mask)
            gradient = (1.0 - tf.sigmoid(scores)) * pair_mask
            d_inputs += tf.einsum("no,nod->nd", gradient, contexts)
            negative_loss, d_hidden, negatives, negative_gradient = self._negative_terms(inputs, pairs, seed)
            loss += negative_loss
            d_inputs += d_hidden
            # The output rows of contexts and negatives, all updated from the centre's input vector.
            output_updates.append(row_sums(
                tf.concat([tf.reshape(context_ids, [-1]), tf.reshape(negatives, [-1])], 0),
                tf.concat([tf.reshape(gradient, [-1]), tf.reshape(negative_gradient, [-1])], 0),
                tf.concat([repeated_owners(size, len(offsets)), repeated_owners(size, self.config.negative)], 0),
                inputs))
        if self.config.hierarchical_softmax:
            node_rows, node_gradients = [], []
            for offset, mask in masks.items():
                # Context word i+offset is predicted from centre i.
                tree_loss, d_hidden, points, tree_gradient = self._tree_terms(inputs, shift(tokens, offset), mask)
                loss += tree_loss
                d_inputs += d_hidden
                node_rows.append(tf.reshape(points, [-1]))
                node_gradients.append(tf.reshape(tree_gradient, [-1]))
            owners = repeated_owners(size, self.tree_points.shape[1])
            output_updates.append(row_sums(tf.concat(node_rows, 0), tf.concat(node_gradients, 0),
                                           tf.tile(owners, [len(masks)]), inputs))
        return loss, tf.reduce_sum(pairs), self._input_update(rows, weights, d_inputs), output_updates

    def _context_spans(self, documents, valid, seed):
        """Each centre's context as a span [first, last] of batch positions (the centre itself inside).

        The span is word2vec's reduced window (uniform in 1..window) cut at the
        edges of the centre's document; an invalid centre gets the empty span [i, i].
        """
        size = tf.shape(documents)[0]
        positions = tf.range(size)
        # Runs of consecutive positions with the same document and validity.
        key = documents * 2 + tf.cast(valid, tf.int32)
        run = tf.cumsum(tf.cast(tf.not_equal(key, tf.roll(key, 1, 0)), tf.int32)) - 1
        run = run - run[0]  # the roll compares position 0 with the last one
        run_first = tf.gather(tf.math.segment_min(positions, run), run)
        run_last = tf.gather(tf.math.segment_max(positions, run), run)
        shrink = tf.random.stateless_uniform([size], seed, 0, self.config.window, tf.int32)
        effective = (self.config.window - shrink) * tf.cast(valid, tf.int32)
        first = tf.maximum(positions - effective, run_first)
        last = tf.minimum(positions + effective, run_last)
        return first, last

    def _cbow(self, tokens, documents, valid, seed):
        inputs, rows, weights = self._input_vectors(tokens)
        size = tf.shape(tokens)[0]
        first, last = self._context_spans(documents, valid, seed)
        counts = tf.cast(last - first, tf.float32)  # (N,) context words per centre
        has_context = tf.cast(counts > 0, tf.float32)
        # Sum over a span from prefix sums: prefix[k] = sum of inputs[:k].
        prefix = tf.cumsum(tf.pad(inputs, [[1, 0], [0, 0]]), axis=0)  # (N+1, D)
        context_sum = tf.gather(prefix, last + 1) - tf.gather(prefix, first) - inputs
        hidden = context_sum * (has_context / tf.maximum(counts, 1.0))[:, None]  # mean of the context vectors
        loss, d_hidden = tf.zeros([]), tf.zeros_like(hidden)
        output_updates = []
        if self.config.negative:
            outputs = tf.gather(self.negative_table, tokens)  # (N, D)
            score = tf.reduce_sum(hidden * outputs, axis=1)
            loss += tf.reduce_sum(tf.math.softplus(-score) * has_context)
            gradient = (1.0 - tf.sigmoid(score)) * has_context
            negative_loss, d_negative_hidden, negatives, negative_gradient = self._negative_terms(
                hidden, has_context, seed)
            loss += negative_loss
            d_hidden += gradient[:, None] * outputs + d_negative_hidden
            # The centre's output row and its negatives' rows, all updated from `hidden`.
            output_updates.append(row_sums(
                tf.concat([tokens, tf.reshape(negatives, [-1])], 0),
                tf.concat([gradient, tf.reshape(negative_gradient, [-1])], 0),
                tf.concat([tf.range(size), repeated_owners(size, self.config.negative)], 0), hidden))
        if self.config.hierarchical_softmax:
            tree_loss, d_tree_hidden, points, tree_gradient = self._tree_terms(hidden, tokens, has_context)
            loss += tree_loss
            d_hidden += d_tree_hidden
            output_updates.append(row_sums(tf.reshape(points, [-1]), tf.reshape(tree_gradient, [-1]),
                                           repeated_owners(size, self.tree_points.shape[1]), hidden))
        # As word2vec.c and gensim (cbow_mean=1): every context word gets the whole error of
        # the mean, not 1/count of it (the exact gradient), which learns several times faster.
        # Added over each span by a difference array: +error at `first`, -error after `last`.
        d_hidden *= has_context[:, None]
        steps = tf.scatter_nd(tf.concat([first, last + 1], 0)[:, None], tf.concat([d_hidden, -d_hidden], 0),
                              [size + 1, self.config.dim])  # (N+1, D); repeated positions add up
        d_inputs = tf.cumsum(steps[:-1], axis=0) - d_hidden  # the centre is inside its own span
        return loss, tf.reduce_sum(has_context), self._input_update(rows, weights, d_inputs), output_updates

    def _input_update(self, rows, weights, d_inputs):
        """Spread each token's input gradient over its subword rows: (N*S,) rows, (N*S, D) values."""
        if self.subword_rows.shape[1] == 1:
            return rows[:, 0], d_inputs  # word2vec: the word's own row, weight 1
        values = weights[:, :, None] * d_inputs[:, None, :]  # (N, S, D)
        return tf.reshape(rows, [-1]), tf.reshape(values, [-1, self.config.dim])

    def _gradients(self, tokens, documents, valid, seed):
        if self.config.architecture == "skipgram":
            return self._skipgram(tokens, documents, valid, seed)
        return self._cbow(tokens, documents, valid, seed)

    def _clipped_update(self, rows, values):
        """Sum the updates of each row and shrink any sum longer than `max_row_update`.

        A batch adds hundreds of updates to a frequent word's row at once where
        word2vec applies them one after another, each seeing the last; without
        the bound, skip-gram's summed updates of frequent rows diverge.
        """
        bound = self.config.max_row_update
        if bound is None and self.config.architecture == "skipgram":
            bound = 0.1
        if not bound:
            return tf.IndexedSlices(values, rows)  # the scatter-add sums repeated rows itself
        unique_rows, positions = tf.unique(rows)
        summed = tf.math.unsorted_segment_sum(values, positions, tf.shape(unique_rows)[0])  # (U, D)
        norms = tf.norm(summed, axis=1, keepdims=True)
        summed *= tf.minimum(1.0, bound / tf.maximum(norms, 1e-12))
        return tf.IndexedSlices(summed, unique_rows)

    @functools.cached_property
    def negative_table_ids(self):
        """word2vec's unigram table, built at the TensorFlow step's first draw (the fused op never uses it).

        Word i fills a share of the slots proportional to count^0.75, so a draw
        is one uniform integer and one gather (a binary search does not
        vectorise in XLA).
        """
        slots = (np.arange(NEGATIVE_TABLE_SIZE) + 0.5) / NEGATIVE_TABLE_SIZE
        table = np.minimum(np.searchsorted(self.negative_cdf, slots), len(self.negative_cdf) - 1)
        with tf.init_scope():  # an eager constant, reusable by every traced step
            return tf.constant(table.astype(np.int32))

    def _make_tensorflow_step(self):
        # No autograph: the step has no tensor-dependent Python control flow, and converting it
        # took longer than training an epoch of the Wikipedia sample.
        gradients = tf.function(self._gradients, jit_compile=self.config.jit_compile, autograph=False)

        def replica_step(tokens, documents, valid, learning_rate, seed):
            loss, pairs, input_update, output_updates = gradients(tokens, documents, valid, seed)
            context = tf.distribute.get_replica_context()
            tables = [t for t in (self.input_table, self.negative_table, self.tree_table) if t is not None]
            for table, (rows, values) in zip(tables, [input_update] + output_updates):
                update = self._clipped_update(rows, values * learning_rate)
                if context.num_replicas_in_sync > 1:
                    update = context.all_reduce(tf.distribute.ReduceOp.SUM, update)
                table.scatter_add(update)
            return loss, pairs

        @tf.function(autograph=False)
        def step(tokens, documents, valid, learning_rate, seed):
            loss, pairs = self.strategy.run(replica_step, args=(tokens, documents, valid, learning_rate, seed))
            reduce = tf.distribute.ReduceOp.SUM
            return self.strategy.reduce(reduce, loss, None), self.strategy.reduce(reduce, pairs, None)

        return step
