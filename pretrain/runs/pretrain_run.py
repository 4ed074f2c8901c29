"""One pretraining run, from a corpus to its output directory (below).

`run_pretraining(config, output_dir)` is what `pretrain bert`, `pretrain
electra` and `pretrain gpt` do: check the output directory, resume or start, train or reuse the
WordPiece vocabulary, build the model, train with `pretrain.training.loop.fit`,
then save `model.keras`, the backbone SavedModel and `metrics.json`.

Output directory:

    vocab.txt       the WordPiece vocabulary
    config.json     the effective `PretrainConfig` (reload with --config)
    checkpoints/    tf.train checkpoints, named by optimizer update
    logs/           TensorBoard logs (train/ and validation/)
    model.keras     the pretraining model; its sub-layer "backbone" is the encoder/decoder
    backbone/       SavedModel of the backbone for fine-tuning and serving
    metrics.json    the final training and held-out metrics
    initial_token_embedding.npy   the skip-gram start of the token embedding (--token-vectors skipgram)
"""

import dataclasses
import json
import logging
import os
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from layers import BACKBONE_SIZES
from pretrain.atomic_files import atomic_file
from pretrain.embeddings.token_vectors import initial_token_embedding, train_token_vectors
from pretrain.errors import UsageError
from pretrain.objectives.objective import objective_of
from pretrain.objectives.pretrained import build_pretrainer, load_pretrained, read_run
from pretrain.runs.continued_pretraining import continued_config, copy_pretrained_weights
from pretrain.runs.resume_check import resumable_config
from pretrain.text.corpus import read_documents
from pretrain.text.corpus_split import split_corpus
from pretrain.text.tokenizer import WordPieceTokenizer, load_vocabulary, save_vocabulary, train_vocabulary
from pretrain.training import loop
from pretrain.training.optimizer import create_optimizer
from pretrain.training.pretrain_config import PretrainConfig
from saved_models.backbone_export import export_backbone

logger = logging.getLogger(__name__)

# The token embedding a run started from (--token-vectors skipgram), in its output directory.
INITIAL_TOKEN_EMBEDDING = "initial_token_embedding.npy"
# Examples are shuffled in a buffer of this many.
SHUFFLE_BUFFER = 1000
# How long another worker of a multi-worker run waits for the chief's trained vocabulary.
VOCABULARY_WAIT_SECONDS = 3600


def prepare_output_dir(output_dir):
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create output directory {output_dir}: {error.strerror}") from None
    if not os.access(output_dir, os.W_OK | os.X_OK):
        raise UsageError(f"output directory {output_dir} is not writable; choose another --output")


def check_resumable(config, output_dir):
    """The config to resume the run in `output_dir` with (`resume_check.resumable_config`)."""
    config_path = os.path.join(output_dir, "config.json")
    saved = PretrainConfig.load(config_path)  # read as this version writes it
    return resumable_config(config, saved.to_dict(), output_dir, f"pass --config {config_path}")


def file_stamp(path):
    """`(modification time, size)` of `path`, or None if it does not exist."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_size


def wait_for_chief_vocabulary(path, stamp_before, timeout=VOCABULARY_WAIT_SECONDS, poll=0.5):
    """The tokens of the vocabulary the chief writes at `path`, once it differs from `stamp_before`.

    Another worker of a multi-worker run must tokenize with the chief's vocabulary: one it trained itself
    could differ (the `tokenizers` trainer breaks frequency ties differently in each process).
    `stamp_before` is `file_stamp(path)` taken when the run started, so a `vocab.txt` left by an earlier
    attempt is not mistaken for the chief's new one.
    """
    deadline = time.monotonic() + timeout
    while file_stamp(path) in (None, stamp_before):
        if time.monotonic() > deadline:
            raise UsageError(
                f"the chief did not write its vocabulary {path} within {timeout:.0f} s; OUTPUT must be on a "
                "file system every worker sees, or give every worker the same --vocab FILE"
            )
        time.sleep(poll)
    logger.info(f"Using the chief's vocabulary {path}")
    return load_vocabulary(path)


def prepare_vocabulary(config, output_dir, data_dir, vocab_file, resuming, chief, stamp_before=None):
    """The vocabulary tokens: the run's own when resuming, the given file, or trained (by the chief only:
    another worker waits for the chief's, `stamp_before` being `file_stamp(OUTPUT/vocab.txt)` at its start)."""
    saved_path = os.path.join(output_dir, "vocab.txt")
    if resuming:
        saved = load_vocabulary(saved_path)
        if vocab_file is not None and load_vocabulary(vocab_file) != saved:
            raise UsageError(
                f"--vocab {vocab_file} differs from {saved_path}, the vocabulary of the run "
                "being resumed; drop --vocab or choose a new --output"
            )
        return saved
    if vocab_file is not None:
        tokens = load_vocabulary(vocab_file)
    elif not chief:
        return wait_for_chief_vocabulary(saved_path, stamp_before)
    else:
        size = config.tokenizer.vocabulary_size
        logger.info(f"Training a WordPiece vocabulary of {size} tokens on {', '.join(config.data.corpus)}")
        tokens = train_vocabulary(
            read_documents(os.path.join(data_dir, "train.txt")),
            size,
            lowercase=config.tokenizer.lowercase,
            strip_accents=config.tokenizer.strip_accents,
        )
    if chief:
        with atomic_file(saved_path) as staging:  # another worker reads it as soon as it appears
            save_vocabulary(tokens, staging)
    return tokens


def check_corpus(config, counts):
    """Fails early on a corpus too small for the objective."""
    needed, reason = config.minimum_train_documents()
    if counts["train_documents"] < needed:
        raise UsageError(
            f"{', '.join(config.data.corpus)} has {counts['train_documents']} training document(s); "
            f"{reason}"
        )


def build_backbone(config, vocabulary_size):
    """The backbone of `config`: its saved `backbone` config if any, else the preset."""
    backbone_class = objective_of(config).backbone_class
    if config.backbone is not None:
        backbone_config = dict(config.backbone, vocabulary_size=vocabulary_size, name="backbone")
        backbone_config.pop("dtype", None)
        if config.attention_dropout is not None:
            backbone_config["attention_dropout"] = config.attention_dropout
        backbone = backbone_class.from_config(backbone_config)
    else:
        backbone = backbone_class(
            vocabulary_size=vocabulary_size,
            attention_dropout=config.attention_dropout,
            name="backbone",
            **BACKBONE_SIZES[config.preset],
        )
    if config.data.seq_length > backbone.max_sequence_length:
        raise UsageError(
            f"--seq-length {config.data.seq_length} exceeds the backbone's "
            f"max_sequence_length {backbone.max_sequence_length}"
        )
    return backbone


def build_model(config, vocabulary_size):
    model = build_pretrainer(config, build_backbone(config, vocabulary_size), name=f"{config.model}_pretrainer")
    model.compile(
        optimizer=create_optimizer(config.training, model),
        jit_compile=config.training.jit_compile,
    )
    return model


def start_from_token_vectors(backbone, tokenizer, data_dir, output_dir, num_workers):
    """Writes skip-gram vectors of the tokens, trained on `data_dir/train.txt`, into the token embedding.

    The embedding it starts from is also saved as `OUTPUT/initial_token_embedding.npy` ([V, H] float32,
    rows in vocabulary order), e.g. to compare with a backbone that starts from it without pretraining.
    """
    if num_workers > 1:  # each worker's vectors would differ; the embedding must start equal on all
        logger.info("--token-vectors skipgram is not used by multi-worker runs: the token embedding starts random")
        return
    logger.info("Training skip-gram vectors of the vocabulary's tokens for the token embedding")
    work_dir = os.path.join(data_dir, "token_corpus")
    vectors = train_token_vectors(
        os.path.join(data_dir, "train.txt"), tokenizer, backbone.hidden_dim, work_dir, verbose=True
    )
    shutil.rmtree(work_dir, ignore_errors=True)
    embedding = backbone.token_embedding.embeddings
    initial = initial_token_embedding(vectors, keras.ops.convert_to_numpy(embedding))
    embedding.assign(initial)
    np.save(os.path.join(output_dir, INITIAL_TOKEN_EMBEDDING), initial)
    logger.info(f"Token embedding starts from the vectors of {int((~np.isnan(vectors[:, 0])).sum())} tokens")


def examples_dataset(config, tokenizer, path, seed, shuffle_buffer, shard_index=0, num_shards=1):
    """Unbatched examples of the objective from a lines-format file."""
    return objective_of(config).examples(config, tokenizer, path, seed, shuffle_buffer, shard_index, num_shards)


def build_datasets(config, tokenizer, data_dir, counts, seed, worker_index=0, num_workers=1, step=0):
    """Endless training batches from where a run at update `step` goes on, and a fixed list of held-out
    batches (or None).

    The training batches are a pure function of `seed` and the batch number, so a resumed run that starts
    at the batch its update count implies trains on the batches of a run never interrupted.
    """
    objective = objective_of(config)
    batch_size = config.training.batch_size
    options = tf.data.Options()
    # Each worker reads its own shard of the documents (below), not of the files.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    train = examples_dataset(
        config, tokenizer, os.path.join(data_dir, "train.txt"), seed, SHUFFLE_BUFFER,
        worker_index, num_workers,
    )
    train = objective.inputs(config, train.repeat().batch(batch_size, drop_remainder=True), seed)
    train = loop.skip_trained_batches(train, step, config.training)
    train = train.prefetch(tf.data.AUTOTUNE).with_options(options)
    if not (config.training.eval_batches and counts["heldout_documents"]):
        return train, None
    # A fixed sample (same seed, cached) drawn from across the held-out documents.
    heldout = examples_dataset(
        config, tokenizer, os.path.join(data_dir, "heldout.txt"), config.data.seed, SHUFFLE_BUFFER
    )
    heldout = objective.inputs(config, heldout.repeat().batch(batch_size, drop_remainder=True), config.data.seed)
    heldout = heldout.take(config.training.eval_batches).cache().with_options(options)
    return train, heldout


def export_outputs(model, config, output_dir):
    """model.keras and the backbone SavedModel (chief only)."""
    with atomic_file(os.path.join(output_dir, "model.keras")) as staging:
        model.save(staging)
    export_backbone(
        model.backbone,
        os.path.join(output_dir, "backbone"),
        os.path.join(output_dir, config.tokenizer.vocabulary),
        dataclasses.asdict(config.tokenizer),
        seq_length=config.data.seq_length,
        pooler_trained=config.pooler_trained,
    )


def run_pretraining(config, output_dir, vocab_file=None):
    """Pretrains `config.model` on `config.data.corpus` into `output_dir`.

    Returns:
        dict. The last round's metrics (training, and `val_*` held-out ones)
        and `step`, the optimizer updates made.
    """
    strategy = loop.create_strategy(config.training.strategy)
    chief = loop.is_chief(strategy)
    worker_index, num_workers = loop.worker_shard(strategy)
    prepare_output_dir(output_dir)
    vocabulary_stamp = file_stamp(os.path.join(output_dir, "vocab.txt"))  # before the chief can write a new one
    config = config.replace(
        data=config.data.replace(corpus=tuple(os.path.abspath(p) for p in config.data.corpus))
    ).validated()
    init_from = config.training.init_from
    if init_from:
        source_config, source_vocabulary = read_run(init_from)
        config = continued_config(config, source_config)
        if vocab_file is not None and load_vocabulary(vocab_file) != load_vocabulary(source_vocabulary):
            raise UsageError(f"--vocab {vocab_file} differs from the vocabulary of --init-from {init_from}; drop --vocab")
        vocab_file = source_vocabulary
    if vocab_file is not None:
        size = len(load_vocabulary(vocab_file))
        config = config.replace(tokenizer=config.tokenizer.replace(vocabulary_size=size))
    checkpoint_dir = os.path.join(output_dir, "checkpoints")
    resuming = tf.train.latest_checkpoint(checkpoint_dir) is not None
    if resuming:
        config = check_resumable(config, output_dir)
    # A resumed run restores its own checkpoint, so the source model is loaded only for a new run.
    source_model = load_pretrained(init_from).model if init_from and not resuming else None
    scratch = None if chief else tempfile.mkdtemp(prefix="pretrain-worker-")
    data_dir = os.path.join(scratch or output_dir, "data")
    log_dir = os.path.join(scratch or output_dir, "logs")
    previous_policy = keras.config.dtype_policy()
    try:
        counts = split_corpus(config.data, data_dir)
        check_corpus(config, counts)
        tokens = prepare_vocabulary(config, output_dir, data_dir, vocab_file, resuming, chief, vocabulary_stamp)
        tokenizer = WordPieceTokenizer(
            tokens,
            lowercase=config.tokenizer.lowercase,
            strip_accents=config.tokenizer.strip_accents,
        )
        keras.mixed_precision.set_dtype_policy(config.training.precision)
        keras.utils.set_random_seed(config.training.seed)
        with strategy.scope():
            model = build_model(config, len(tokens))
            checkpointer = loop.Checkpointer(model, checkpoint_dir, chief, config.training.keep_checkpoints)
            step = checkpointer.restore()
            if source_model is not None:
                copied = copy_pretrained_weights(source_model, model)
                logger.info(f"Starting from {copied} variables of {init_from}")
            elif not step and config.training.token_vectors == "skipgram":
                start_from_token_vectors(model.backbone, tokenizer, data_dir, output_dir, num_workers)
        config = config.replace(backbone=model.backbone.get_config())
        if chief:
            config.save(os.path.join(output_dir, "config.json"))
        if step:
            logger.info(f"Resuming from step {step} ({checkpointer.restored})")
        metrics_path = os.path.join(output_dir, "metrics.json")
        if step >= config.training.steps and os.path.exists(metrics_path):
            # Finished and exported (metrics.json is written last): keep its outputs as they are.
            logger.info(f"{output_dir} finished at step {step} already; its outputs are kept")
            checkpointer.close()
            with open(metrics_path, encoding="utf-8") as file:
                return json.load(file)
        metrics = {}
        if step < config.training.steps:
            train, heldout = build_datasets(
                config, tokenizer, data_dir, counts, config.data.seed, worker_index, num_workers,
                step=step,
            )
            metrics = loop.fit(
                model, train, heldout, config.training, checkpointer, log_dir, step
            )
        metrics["step"] = loop.updates_done(model)
        if chief:
            export_outputs(model, config, output_dir)
            _save_metrics(metrics, output_dir)
        checkpointer.close()
    finally:
        keras.config.set_dtype_policy(previous_policy)  # the caller's process keeps its own
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return metrics


def _save_metrics(metrics, output_dir):
    with open(os.path.join(output_dir, "metrics.json"), "w", encoding="utf-8") as file:
        json.dump({k: float(v) for k, v in metrics.items()}, file, indent=2, sort_keys=True)

