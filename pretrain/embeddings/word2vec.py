"""Skip-gram and CBOW word vectors (word2vec), trained in steps of many consecutive tokens.

The trainer follows word2vec/gensim: frequent words are subsampled with
P_keep = min(1, sqrt(t/f) + t/f), each centre word's window is shrunk to a
uniform 1..window, the objective is negative sampling from unigram^0.75
and/or hierarchical softmax over a Huffman tree, CBOW averages the context
vectors, and the learning rate decays linearly from `learning_rate` to
`min_learning_rate` over all epochs.

What differs is the shape of the work. Instead of one (centre, context)
pair at a time, a step takes `batch_tokens` consecutive corpus tokens. Each
centre's context is a span of batch positions (its reduced window cut at the
document edges): CBOW's context mean is a difference of two prefix sums, and
its error goes back to the span with a difference array; skip-gram gathers
all (N, 2w) contexts at once. Each centre draws `negative` words, shared by
its context pairs (weighted by their number). The output rows touched in a
step are summed with one sparse x dense product and every table gets one
scatter-add (plain SGD, no optimizer state). No Python runs per word: batches
are cut, mapped and subsampled with numpy in a background thread.

By default (`fused_kernel=True`) the step is instead one call of a fused C++
op (`word2vec_fused.py`, `kernels/word2vec_kernels.cc`) that runs word2vec's
per-word SGD over the same batch on the CPU worker threads (Hogwild), as
gensim does. The op covers negative sampling with one replica; hierarchical
softmax, fastText subwords and multi-replica strategies keep the TensorFlow
step (`word2vec_tensorflow_step.py`) (a one-line message says so), as does a machine where the op
cannot be built (a warning says why).

Example (tiny; see `docs/embeddings.md` for real corpora):

>>> import tempfile
>>> from pretrain.embeddings.word_corpus import EncodedCorpus
>>> documents = [["the quick brown fox jumps over the lazy dog"]] * 50
>>> corpus = EncodedCorpus.build(documents, tempfile.mkdtemp())
>>> config = Word2VecConfig(dim=8, min_count=1, epochs=1, sample=0)
>>> vectors = Word2VecTrainer(config, corpus).train(verbose=False)
>>> vectors.vectors.shape
(8, 8)
"""

import dataclasses
import json
import logging
import queue
import threading
import time

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from pretrain.embeddings.huffman import huffman_paths
from pretrain.embeddings.word2vec_fused import CALLS_IN_FLIGHT, fused_step, run_steps, unfused_reason
from pretrain.embeddings.word2vec_tensorflow_step import TensorFlowStep
from pretrain.embeddings.word_vectors import WordVectors
from pretrain.embeddings.word_vocabulary import WordVocabulary
from pretrain.errors import UsageError
from pretrain.training.lockstep import lockstep
from pretrain.training.loop import worker_shard

logger = logging.getLogger(__name__)

NEGATIVE_DOMAIN = 2**31 - 1  # gensim's cum_table scale
# Tokens per fused-op call. CBOW learns better from shorter calls: on Gutenberg (1M words, seeds 1-4) its analogy
# accuracy was 0.048 at 4,096 tokens, 0.041 at 8,192 and 0.040 at 16,384 (gensim 0.046), at the same words/s.
FUSED_BATCH_TOKENS = {"skipgram": 16_384, "cbow": 4_096}
TENSORFLOW_BATCH_TOKENS = 4_096


@dataclasses.dataclass
class Word2VecConfig:
    """Hyperparameters; the defaults are gensim's `Word2Vec` defaults unless noted."""

    architecture: str = "cbow"  # or "skipgram" (gensim sg=0: CBOW by default)
    dim: int = 100
    window: int = 5
    negative: int = 5  # negative samples per pair; 0 disables negative sampling
    hierarchical_softmax: bool = False
    min_count: int = 5
    max_vocab: int = None  # keep at most this many most frequent words
    epochs: int = 5
    sample: float = 1e-3  # subsampling threshold t
    learning_rate: float = 0.025
    min_learning_rate: float = 1e-4
    ns_exponent: float = 0.75
    # Tokens per step; None: FUSED_BATCH_TOKENS on the fused op (which applies every update at once), 4,096 on the
    # TensorFlow step (much larger batches sum too many updates of frequent words).
    batch_tokens: int = None
    # Longest change of one vector per step; None: 0.1 for skip-gram (which diverges without it
    # at 2k+ tokens per step), unbounded for CBOW (stable, and the bound cost it WordSim-353 quality).
    max_row_update: float = None
    jit_compile: bool = False  # XLA: measured slower on this 2-core CPU (docs/embeddings.md)
    fused_kernel: bool = True  # the C++ op where it applies (word2vec_fused.py); False: always the TF step
    seed: int = 1

    def validate(self):
        if self.architecture not in ("skipgram", "cbow"):
            raise UsageError(f"architecture must be 'skipgram' or 'cbow', got {self.architecture!r}.")
        for name in ("dim", "window", "epochs", "batch_tokens"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}.")
        if self.negative < 0:
            raise UsageError(f"--negative must be >= 0, got {self.negative}.")
        if self.negative == 0 and not self.hierarchical_softmax:
            raise UsageError("--negative 0 needs --hs: there would be no objective to train.")
        if not 0 < self.learning_rate:
            raise UsageError(f"--learning-rate must be > 0, got {self.learning_rate}.")

    def save(self, path):
        with open(path, "w", encoding="utf-8") as file:
            json.dump(dataclasses.asdict(self), file, indent=2)


def learning_rate_at(progress, config):
    """Linear decay from `learning_rate` to `min_learning_rate` as progress goes 0 -> 1."""
    progress = min(max(progress, 0.0), 1.0)
    return config.learning_rate - (config.learning_rate - config.min_learning_rate) * progress


class Word2VecTrainer(TensorFlowStep):
    """Trains word vectors on an `EncodedCorpus` under a `tf.distribute` strategy.

    Args:
        config: Word2VecConfig.
        corpus: EncodedCorpus.
        strategy: tf.distribute.Strategy. Defaults to the current one
            (`tf.distribute.get_strategy()`); each worker of a
            MultiWorkerMirroredStrategy trains on its share of the batches and
            the updates are summed across workers every step.
        subwords: optional `(rows, weights)`, int32/float32 [vocabulary_size, S]:
            a word's input vector is the weighted sum of these input-table rows
            (fastText); by default row i is word i alone.
        input_rows: size of the input table when `subwords` adds rows.
        log_dir: optional TensorBoard directory for loss, words/s and learning rate.
    """

    def __init__(self, config, corpus, strategy=None, subwords=None, input_rows=None, log_dir=None):
        config.validate()
        self.config = config
        self.corpus = corpus
        self.strategy = strategy or tf.distribute.get_strategy()
        self.vocabulary = self.vocabulary_for(config, corpus)
        self.log_dir = log_dir
        size = len(self.vocabulary)
        if subwords is None:
            subwords = (np.arange(size, dtype=np.int32)[:, None], np.ones((size, 1), np.float32))
        self.subword_rows = tf.constant(subwords[0])
        self.subword_weights = tf.constant(subwords[1])
        self._build_tables(input_rows or size)
        self._build_sampling()

    @staticmethod
    def vocabulary_for(config, corpus):
        return WordVocabulary.from_counts(corpus.counts, config.min_count, config.max_vocab)

    def _build_tables(self, input_rows):
        config, size = self.config, len(self.vocabulary)
        rng = np.random.default_rng(config.seed)
        # gensim 4's init: inputs uniform in [-1/dim, 1/dim) (word2vec.c's range is half as wide), outputs zero.
        initial = ((rng.random((input_rows, config.dim), np.float32) * 2 - 1) / config.dim).astype(np.float32)
        sync = tf.VariableAggregation.ONLY_FIRST_REPLICA
        with self.strategy.scope():
            self.input_table = tf.Variable(initial, name="input_vectors", aggregation=sync)
            self.negative_table = (
                tf.Variable(tf.zeros((size, config.dim)), name="negative_output_vectors", aggregation=sync)
                if config.negative
                else None
            )
            self.tree_table = (
                tf.Variable(tf.zeros((size - 1, config.dim)), name="tree_output_vectors", aggregation=sync)
                if config.hierarchical_softmax
                else None
            )

    def _build_sampling(self):
        config = self.config
        # Corpus word -> vocabulary row, and the keep probabilities of frequent-word subsampling: built once
        # (the map is a Python loop over the corpus' words), read by every epoch's batch thread.
        self.id_map = self.corpus.vocabulary_map(self.vocabulary)
        self.keep_probabilities = self.vocabulary.keep_probabilities(config.sample)
        cdf = np.cumsum(self.vocabulary.negative_distribution(config.ns_exponent), dtype=np.float64)
        self.negative_cdf = cdf / cdf[-1]  # (V,), the unigram^0.75 distribution's cumulative sum
        # gensim's cum_table for the fused op's binary-search draws: cache-resident where the table is not.
        self.negative_cumulative = tf.constant(np.round(self.negative_cdf * NEGATIVE_DOMAIN).astype(np.int64))
        if config.hierarchical_softmax:
            points, codes, mask = huffman_paths(self.vocabulary.counts)
            self.tree_points = tf.constant(points)
            self.tree_labels = tf.constant(1.0 - codes)  # word2vec trains sigma(x) towards 1 - code
            self.tree_mask = tf.constant(mask)

    def _make_step(self, verbose):
        """The fused op's step where it applies, else the TensorFlow step; sets `training_path`, `batch_tokens`
        and `calls_in_flight`."""
        reason = unfused_reason(self.config, self.subword_rows.shape[1], self.strategy)
        step = fused_step(self) if reason is None else None
        if step is not None:
            self.training_path = "fused kernel"
            self.batch_tokens = self.config.batch_tokens or FUSED_BATCH_TOKENS[self.config.architecture]
            self.calls_in_flight = CALLS_IN_FLIGHT
            return step
        self.training_path = "TensorFlow step"
        self.batch_tokens = self.config.batch_tokens or TENSORFLOW_BATCH_TOKENS
        self.calls_in_flight = 1  # its variable updates are not safe to interleave
        if verbose and reason is not None:
            logger.info(f"word2vec: TensorFlow step (the fused kernel {reason})")
        return self._make_tensorflow_step()

    # ----- the training loop -----

    def _batches(self, epoch, shard):
        """Fixed-size batches `(tokens, documents, valid, raw_tokens)` of one epoch, prepared in numpy."""
        config = self.config
        rng = np.random.default_rng([config.seed, epoch, shard[0]])
        size = self.batch_tokens
        tokens, documents, raw = [], [], 0
        pending = 0
        chunks = self.corpus.chunks(self.id_map, size, self.keep_probabilities, rng, shard)
        for ids, document_ids, raw_count in chunks:
            tokens.append(ids)
            documents.append(document_ids)
            pending += len(ids)
            raw += raw_count
            while pending >= size:
                all_tokens, all_documents = np.concatenate(tokens), np.concatenate(documents)
                yield all_tokens[:size], all_documents[:size], np.ones(size, bool), raw
                tokens, documents = [all_tokens[size:]], [all_documents[size:]]
                pending -= size
                raw = 0
        if pending or raw:
            padding = size - pending
            all_tokens = np.concatenate(tokens + [np.zeros(padding, np.int32)])
            all_documents = np.concatenate(documents + [np.full(padding, -1, np.int32)])
            yield all_tokens, all_documents, np.arange(size) < pending, raw

    def _empty_batch(self):
        """A batch with no valid token: a worker out of data runs it to keep in step."""
        size = self.batch_tokens
        return np.zeros(size, np.int32), np.full(size, -1, np.int32), np.zeros(size, bool), 0

    def _prefetched(self, epoch, shard):
        """`_batches` from a background thread, so numpy overlaps the training step. The thread starts now
        (not at the first `next`), so an epoch's first batches are ready before the epoch before it ends."""
        batches = queue.Queue(maxsize=4)

        def produce():
            for batch in self._batches(epoch, shard):
                batches.put(batch)
            batches.put(None)

        threading.Thread(target=produce, daemon=True).start()

        def consume():
            while (batch := batches.get()) is not None:
                yield batch

        return consume()

    def _step_arguments(self, worker):
        """Yield `((tokens, documents, valid, learning_rate, seed), (epoch, raw_words))` for every step of every
        epoch, in one stream, so that the calls in flight carry on across epoch boundaries.

        The learning rate of a step follows the words of the steps before it
        (all workers' words under a multi-worker strategy). Arguments are numpy
        arrays (`tf.function` takes them as tensors; the fused op's eager call
        converts them for less than an eager op per step would cost).
        """
        config = self.config
        total, done = config.epochs * self.corpus.num_tokens, 0
        upcoming = self._prefetched(0, worker)
        for epoch in range(config.epochs):
            current = upcoming
            upcoming = self._prefetched(epoch + 1, worker) if epoch + 1 < config.epochs else None
            for number, (tokens, documents, valid, raw) in enumerate(
                    lockstep(self.strategy, current, self._empty_batch())):
                learning_rate = np.array(learning_rate_at(done / total, config), np.float32)
                seed = np.array([epoch, number], np.int32) + config.seed * 7919
                yield (tokens, documents, valid, learning_rate, seed), (epoch, raw)
                done += raw * worker[1]

    @staticmethod
    def _epoch_record(epoch, loss_sum, pair_sum, epoch_words, seconds, worker):
        return {"epoch": epoch + 1, "loss": loss_sum / max(pair_sum, 1.0),
                "words_per_second": epoch_words * worker[1] / max(seconds, 1e-9), "seconds": seconds}

    def train(self, verbose=True):
        """Train all epochs; returns `WordVectors` of the input table (words only).

        One stream of steps runs through all epochs (`_step_arguments`), so the
        calls in flight do not drain at each epoch's end; an epoch's record
        closes when its last step's result arrives, and its seconds run from
        the previous epoch's close.
        """
        config = self.config
        step = self._make_step(verbose)
        worker = worker_shard(self.strategy)
        total = config.epochs * self.corpus.num_tokens
        writer = tf.summary.create_file_writer(self.log_dir) if self.log_dir else None
        self.history = []
        start = time.perf_counter()
        epoch_start, done = start, 0
        steps = run_steps(step, self._step_arguments(worker), self.calls_in_flight)
        current, progress = -1, None
        loss_sum = pair_sum = 0.0  # Python floats: an eager add per step costs more than a short call's words
        epoch_words = 0

        def next_epoch():
            """Close the current epoch's record (if any) and open the next one's."""
            nonlocal current, progress, epoch_start, done, loss_sum, pair_sum, epoch_words
            if current >= 0:
                progress.close()
                now = time.perf_counter()
                record = self._epoch_record(current, loss_sum, pair_sum, epoch_words, now - epoch_start, worker)
                epoch_start = now
                done += epoch_words * worker[1]
                self.history.append(record)
                logger.info(f"epoch {record['epoch']}/{config.epochs}  loss {record['loss']:.4f}  "
                            f"{record['words_per_second']:,.0f} words/s  {record['seconds']:.1f} s")
                if writer is not None:
                    with writer.as_default(step=current + 1):
                        tf.summary.scalar("loss", record["loss"])
                        tf.summary.scalar("words_per_second", record["words_per_second"])
                        tf.summary.scalar("learning_rate", learning_rate_at(done / total, config))
            current, loss_sum, pair_sum, epoch_words = current + 1, 0.0, 0.0, 0
            if current < config.epochs:
                progress = tqdm(total=self.corpus.num_tokens // worker[1], unit=" words", unit_scale=True,
                                disable=not verbose, desc=f"epoch {current + 1}/{config.epochs}", mininterval=1.0)

        next_epoch()
        for (loss, pairs), (_, (epoch, raw)) in steps:
            while current < epoch:  # an epoch with no step (an empty shard) still gets its record
                next_epoch()
            loss_sum += float(loss)
            pair_sum += float(pairs)
            epoch_words += raw
            progress.update(raw)
        while current < config.epochs:
            next_epoch()
        self.seconds = time.perf_counter() - start
        self.words_per_second = total / self.seconds
        vectors = self.input_table.numpy()[: len(self.vocabulary)]
        return WordVectors(self.vocabulary.words, vectors)
