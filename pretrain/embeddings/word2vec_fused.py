"""The fused-kernel step of `Word2VecTrainer`: one C++ op call per batch.

The op (`kernels/word2vec_kernels.cc`, built by `word2vec_kernel.py`) runs
word2vec.c/gensim's sequential SGD over the batch's centre words: dynamic
window, the centre (CBOW: the mean of its context) against the target and
`negative` unigram^0.75 draws, each update applied at once to the two tables in
place, with the batch cut into contiguous slices of centres, eight per CPU
worker thread (TensorFlow's intra-op pool: one per core unless
`tf.config.threading.set_intra_op_parallelism_threads` says otherwise), the
slices updating shared rows without locks (Hogwild). `run_steps` keeps three
calls in flight on their own batches, as gensim's worker threads run their own
jobs, so a call's last slices overlap the next calls' first instead of leaving
cores idle at the end of each call (two in flight measured 1.3-1.6x the words/s
of one call at a time, docs/embeddings.md); the calls train under shared locks,
so they overlap for their whole length, and the trainer's stream of calls runs
on across epoch boundaries. On the default strategy the op is called eagerly,
without a `tf.function` around it (`fused_step`). Batches, learning-rate
decay, per-epoch loss and logging stay the trainer's. It covers negative
sampling on one replica; for hierarchical softmax, fastText subword rows or
several replicas, `unfused_reason` names what is not covered and the trainer
keeps its TensorFlow step.
"""

import collections
import concurrent.futures

import numpy as np
import tensorflow as tf

from pretrain.embeddings.word2vec_kernel import load_word2vec_kernel

# Three calls in flight: 0.54-0.57 s of training vs 0.57-0.60 s for two (CBOW on the Wikipedia sample, quiet machine,
# medians of alternating runs; skip-gram equal), now that concurrent calls do not wait on each other's locks.
CALLS_IN_FLIGHT = 3


def unfused_reason(config, subwords_per_word, strategy):
    """Why the fused op cannot train this configuration, or None if it can."""
    if not config.fused_kernel:
        return "is switched off (fused_kernel=False, --no-fused-kernel)"
    if config.hierarchical_softmax:
        return "does not cover hierarchical softmax (--hs)"
    if subwords_per_word != 1:
        return "does not cover fastText subword rows"
    if strategy.num_replicas_in_sync > 1:
        return "does not cover more than one replica or worker"
    return None


def fused_step(trainer):
    """`step(tokens, documents, valid, learning_rate, seed) -> (loss, pairs)` on the op, or None if unbuilt.

    On the default strategy (one device, no `tf.distribute` scope) the op runs eagerly: one call costs
    ~0.02 ms to dispatch where a `tf.function` around it cost ~0.4 ms of Python and tracing machinery, a
    fifth of a 4,096-token CBOW call's CPU time (docs/embeddings.md). Other single-replica strategies keep
    the `tf.function` under `strategy.run`.
    """
    kernels = load_word2vec_kernel()
    if kernels is None:
        return None
    config, strategy = trainer.config, trainer.strategy
    attributes = dict(window=config.window, negative=config.negative, skipgram=config.architecture == "skipgram")

    def train_batch(tokens, documents, valid, learning_rate, seed):
        """The op on one batch; `seed` is one int64 (the step's `[2]` int32 seed folded into one)."""
        return kernels.word2vec_train_batch(
            trainer.input_table.handle, trainer.negative_table.handle, tokens, documents, valid,
            trainer.negative_cumulative, learning_rate, seed, **attributes)

    def replica_step(tokens, documents, valid, learning_rate, seed):
        seed = tf.cast(seed[0], tf.int64) * 1_000_003 + tf.cast(seed[1], tf.int64)  # [2] int32 -> one int64
        return train_batch(tokens, documents, valid, learning_rate, seed)

    if strategy is tf.distribute.get_strategy() and not tf.distribute.has_strategy():

        def eager_step(tokens, documents, valid, learning_rate, seed):
            seed = np.int64(seed[0]) * 1_000_003 + np.int64(seed[1])  # the same int64 as replica_step's, in numpy
            return train_batch(tokens, documents, valid, learning_rate, seed)

        return eager_step

    @tf.function(autograph=False)
    def step(tokens, documents, valid, learning_rate, seed):
        loss, pairs = strategy.run(replica_step, args=(tokens, documents, valid, learning_rate, seed))
        return strategy.reduce("SUM", loss, None), strategy.reduce("SUM", pairs, None)

    return step


def run_steps(step, arguments, in_flight):
    """Yield `(step(*args), (args, extra))` for each `(args, extra)` of `arguments`, in order.

    Up to `in_flight` calls run at once on consecutive batches, on worker
    threads; with 1 they run one after another on the calling thread.

    >>> [result for result, _ in run_steps(lambda x: 2 * x, [((n,), None) for n in range(4)], 2)]
    [0, 2, 4, 6]
    """
    if in_flight == 1:
        for args, extra in arguments:
            yield step(*args), (args, extra)
        return
    with concurrent.futures.ThreadPoolExecutor(in_flight) as pool:
        pending = collections.deque()
        for args, extra in arguments:
            pending.append((pool.submit(step, *args), (args, extra)))
            if len(pending) >= in_flight:
                future, submitted = pending.popleft()
                yield future.result(), submitted
        while pending:
            future, submitted = pending.popleft()
            yield future.result(), submitted
