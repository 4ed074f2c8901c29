"""GloVe word vectors (Pennington et al. 2014) from streamed co-occurrence counts.

Minimises sum_ij f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2 with
f(x) = (x / x_max)^alpha below x_max, else 1, by AdaGrad (accumulators start
at 1, gradients clipped at 100, as the GloVe C tool) over shuffled blocks of
the co-occurrence file; the vectors are W + W~. Each step takes `batch_size`
entries: two gathers, one elementwise product, one scatter per table.

Example:

>>> import tempfile
>>> from pretrain.embeddings.word_corpus import EncodedCorpus
>>> corpus = EncodedCorpus.build([["the cat sat on the mat"]] * 20, tempfile.mkdtemp())
>>> config = GloVeConfig(dim=8, min_count=1, epochs=2)
>>> trainer = GloVeTrainer(config, corpus, tempfile.mkdtemp())
>>> trainer.train(verbose=False).vectors.shape
(5, 8)
"""

import dataclasses
import json
import logging
import time

import numpy as np
import tensorflow as tf

from pretrain.embeddings.cooccurrence import CooccurrenceCounter
from pretrain.embeddings.word_vectors import WordVectors
from pretrain.embeddings.word_vocabulary import WordVocabulary
from pretrain.errors import UsageError
from pretrain.training.lockstep import lockstep
from pretrain.training.loop import worker_shard

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class GloVeConfig:
    """Hyperparameters; GloVe's own defaults unless noted."""

    dim: int = 100  # GloVe's demo uses 50; 100 matches our word2vec
    window: int = 10  # GloVe: 15
    min_count: int = 5
    max_vocab: int = None
    epochs: int = 15  # GloVe's demo: 15
    x_max: float = 100.0
    alpha: float = 0.75
    learning_rate: float = 0.05
    gradient_clip: float = 100.0
    batch_size: int = 16384  # co-occurrence entries per step
    memory_entries: int = 20_000_000  # co-occurrence entries held in memory before spilling to disk
    block_entries: int = 1_000_000  # entries shuffled together per block
    seed: int = 1

    def validate(self):
        for name in ("dim", "window", "epochs", "batch_size", "memory_entries", "block_entries"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}.")
        if self.x_max <= 0 or self.learning_rate <= 0:
            raise UsageError(f"--x-max and --learning-rate must be > 0, got {self.x_max}, {self.learning_rate}.")

    def save(self, path):
        with open(path, "w", encoding="utf-8") as file:
            json.dump(dataclasses.asdict(self), file, indent=2)


def count_cooccurrences(config, corpus, vocabulary, directory, verbose=True):
    """Stream the corpus once into a merged co-occurrence shard."""
    counter = CooccurrenceCounter(len(vocabulary), config.window, directory, config.memory_entries)
    id_map = corpus.vocabulary_map(vocabulary)
    start = time.perf_counter()
    for ids, document_ids, _ in corpus.chunks(id_map, 1_000_000):
        counter.add(ids, document_ids)
    shard = counter.finish()
    if verbose:
        rate = corpus.num_tokens / (time.perf_counter() - start)
        logger.info(f"co-occurrences: {len(shard):,} pairs from {corpus.num_tokens:,} tokens ({rate:,.0f} tokens/s)")
    return shard


class GloVeTrainer:
    """Counts co-occurrences of an EncodedCorpus and fits GloVe vectors under a tf.distribute strategy.

    Args:
        config: GloVeConfig.
        corpus: EncodedCorpus.
        work_dir: str. Where the co-occurrence shards go.
        strategy: tf.distribute.Strategy; each worker trains on its share of
            the blocks and the gradients are summed across workers every step.
        log_dir: optional TensorBoard directory.
    """

    def __init__(self, config, corpus, work_dir, strategy=None, log_dir=None):
        config.validate()
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        self.vocabulary = WordVocabulary.from_counts(corpus.counts, config.min_count, config.max_vocab)
        self.corpus = corpus
        self.work_dir = work_dir
        self.log_dir = log_dir
        size, dim = len(self.vocabulary), config.dim
        rng = np.random.default_rng(config.seed)
        # Rows 0..V-1 are W (and b), rows V..2V-1 are W~ (and b~).
        initial = ((rng.random((2 * size, dim + 1)) - 0.5) / dim).astype(np.float32)
        sync = tf.VariableAggregation.ONLY_FIRST_REPLICA
        with self.strategy.scope():
            self.table = tf.Variable(initial, name="vectors_and_biases", aggregation=sync)  # (2V, D + 1)
            self.squared_gradients = tf.Variable(tf.ones_like(initial), name="adagrad", aggregation=sync)

    def _gradients(self, rows, columns, counts):
        config = self.config
        size = len(self.vocabulary)
        indices = tf.concat([rows, columns + size], 0)  # (2B,)
        entries = tf.gather(self.table, indices)  # (2B, D + 1)
        w, w_tilde = tf.split(entries, 2)
        prediction = (tf.reduce_sum(w[:, :-1] * w_tilde[:, :-1], axis=1) + w[:, -1] + w_tilde[:, -1])
        difference = prediction - tf.math.log(counts)
        weight = tf.minimum(tf.pow(counts / config.x_max, config.alpha), 1.0)
        weighted = weight * difference  # (B,)
        loss = 0.5 * tf.reduce_sum(weighted * difference)
        ones = tf.ones_like(weighted)[:, None]
        # d loss / d [w, b] = weighted * [w~, 1], and symmetrically.
        gradient = tf.tile(weighted, [2])[:, None] * tf.concat([tf.concat([w_tilde[:, :-1], ones], 1),
                                                  tf.concat([w[:, :-1], ones], 1)], 0)
        gradient = tf.clip_by_value(gradient, -config.gradient_clip, config.gradient_clip)
        return loss, tf.IndexedSlices(gradient, indices)

    def _make_step(self):
        gradients_of = tf.function(self._gradients, autograph=False)

        def replica_step(rows, columns, counts):
            loss, gradient = gradients_of(rows, columns, counts)
            context = tf.distribute.get_replica_context()
            if context.num_replicas_in_sync > 1:
                gradient = context.all_reduce(tf.distribute.ReduceOp.SUM, gradient)
            accumulated = tf.gather(self.squared_gradients, gradient.indices)
            update = self.config.learning_rate * gradient.values / tf.sqrt(accumulated)
            self.table.scatter_sub(tf.IndexedSlices(update, gradient.indices))
            self.squared_gradients.scatter_add(tf.IndexedSlices(tf.square(gradient.values), gradient.indices))
            return loss

        @tf.function(autograph=False)
        def step(rows, columns, counts):
            loss = self.strategy.run(replica_step, args=(rows, columns, counts))
            return self.strategy.reduce(tf.distribute.ReduceOp.SUM, loss, None)

        return step

    def _batches(self, shard, epoch, worker):
        """This worker's entries in shuffled blocks, shuffled within each block."""
        config = self.config
        rng = np.random.default_rng([config.seed, epoch])
        blocks = np.arange(0, len(shard), config.block_entries)
        rng.shuffle(blocks)
        mine = blocks[worker[0] :: worker[1]]
        for start in mine:
            rows, columns, counts = shard.load(start, start + config.block_entries)
            order = rng.permutation(len(rows))
            for begin in range(0, len(order), config.batch_size):
                chosen = order[begin : begin + config.batch_size]
                yield rows[chosen], columns[chosen], counts[chosen]

    def train(self, verbose=True):
        config = self.config
        start = time.perf_counter()
        shard = count_cooccurrences(config, self.corpus, self.vocabulary, self.work_dir, verbose)
        self.cooccurrence_seconds = time.perf_counter() - start
        self.num_pairs = len(shard)
        step = self._make_step()
        worker = worker_shard(self.strategy)
        writer = tf.summary.create_file_writer(self.log_dir) if self.log_dir else None
        self.history = []
        for epoch in range(config.epochs):
            epoch_start = time.perf_counter()
            loss = tf.zeros([])
            # A worker out of data steps with one entry of count ~0: weight (1e-30 / x_max)^alpha, no update.
            empty = (np.zeros(1, np.int32), np.zeros(1, np.int32), np.full(1, 1e-30, np.float32))
            for rows, columns, counts in lockstep(self.strategy, self._batches(shard, epoch, worker), empty):
                loss += step(rows, columns, counts)
            seconds = time.perf_counter() - epoch_start
            record = {"epoch": epoch + 1, "loss": float(loss) / max(self.num_pairs, 1),
                      "pairs_per_second": self.num_pairs / seconds, "seconds": seconds}
            self.history.append(record)
            if verbose:
                logger.info(f"epoch {epoch + 1}/{config.epochs}  loss {record['loss']:.4f}  "
                      f"{record['pairs_per_second']:,.0f} pairs/s  {seconds:.1f} s")
            if writer is not None:
                with writer.as_default(step=epoch + 1):
                    tf.summary.scalar("loss", record["loss"])
                    tf.summary.scalar("pairs_per_second", record["pairs_per_second"])
        self.seconds = time.perf_counter() - start
        table = self.table.numpy()
        size = len(self.vocabulary)
        vectors = table[:size, :-1] + table[size:, :-1]  # W + W~
        return WordVectors(self.vocabulary.words, vectors)
