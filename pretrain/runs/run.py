"""The one run skeleton every pretraining objective goes through: corpus -> vocabulary -> examples -> model -> export.

`run_objective(recipe, config, output_dir, vocab_file=None)` is what `pretrain
bert|electra|gpt|seq2seq|elmo` do; what differs by objective is a small
`Recipe` (`pretrain_run.BACKBONE_RECIPE` for BERT, ELECTRA and GPT,
`seq2seq_run.SEQ2SEQ_RECIPE`, `elmo_run.ELMO_RECIPE`). The skeleton:

1. creates the distribution strategy, checks the output directory, makes the
   corpus paths absolute and validates the config;
2. with `--init-from` (recipes that continue runs), takes the source run's
   vocabulary, tokenizer options and backbone (`continued_pretraining`);
3. resumes only with the options the run started with (`resume_check`);
4. splits the corpus once into `OUTPUT/data` and checks it is large enough;
5. reuses, reads or trains the WordPiece vocabulary (`run_vocabulary`;
   `Recipe.vocabulary` may complete it);
6. builds (`Recipe.build_model`) and compiles the model under the strategy in
   the config's precision, restores the newest checkpoint or sets the starting
   weights (the `--init-from` run's, or `Recipe.start_weights`);
7. saves `config.json`, trains to `training.steps` with
   `pretrain.training.loop.fit` on the recipe's datasets, skipping the batches a
   resumed run trained on;
8. exports (`export_outputs`: `model.keras`, then `Recipe.export`) and writes
   `metrics.json` last. A rerun of a finished run keeps its outputs.

The pieces that depend on the Keras backend (`KERAS_BACKEND`: TensorFlow or
JAX) each sit in one place: the strategy (`loop.create_strategy`; JAX trains
in one process), the compiled step (`optimizer.compile_pretrainer`),
checkpoints (`checkpoints.create_checkpointer`: `tf.train` on TensorFlow,
`.npz` files on JAX; `has_checkpoint` here reads both), and the SavedModel
exports, which the recipes make through `saved_models.tensorflow_process`
(in a TensorFlow process from `model.keras` when the run trains on JAX). The
precision policy and random seed are set for the run and the caller's policy
is restored after it.

Output directory (every objective; the recipe adds its export):

    vocab.txt       the WordPiece vocabulary
    config.json     the effective config (`to_dict()`), with the backbone's `get_config()`
    data/           the corpus split into train.txt and heldout.txt
    checkpoints/    checkpoints named by optimizer update: tf.train ones (TensorFlow), ckpt-N.npz (JAX)
    logs/           TensorBoard logs (train/ and validation/)
    model.keras     the pretraining model; its sub-layer "backbone" is what the export serves
    metrics.json    the final training and held-out metrics, written last

Another worker of a multi-worker run keeps `data/` and `logs/` in a scratch
directory that it deletes; only the chief writes OUTPUT.

Example (a new objective; `pretrain_run.py` has a whole recipe):

    class PrefixLmRecipe(Recipe):
        def build_model(self, config, tokens): ...
        def datasets(self, config, tokenizer, counts, workspace): ...
        def export(self, model, config, output_dir): ...

    metrics = run_objective(PrefixLmRecipe(), config, "runs/prefix_lm")
"""

import functools
import json
import logging
import os
import shutil
import tempfile

import keras

from pretrain.atomic_files import atomic_file
from pretrain.errors import UsageError
from pretrain.objectives.pretrained import load_pretrained
from pretrain.runs.continued_pretraining import continue_from, copy_pretrained_weights
from pretrain.runs.recipe import Workspace, tokenizer_options
from pretrain.runs.resume_check import resumable_config
from pretrain.runs.run_vocabulary import file_stamp, prepare_vocabulary
from pretrain.text.corpus_split import split_corpus
from pretrain.text.tokenizer import WordPieceTokenizer, load_vocabulary
from pretrain.training import loop
from pretrain.training.checkpoints import create_checkpointer, latest_checkpoint
from pretrain.training.optimizer import compile_pretrainer

logger = logging.getLogger(__name__)


def run_objective(recipe, config, output_dir, vocab_file=None):
    """Pretrains the model of `recipe` and `config` on `config.data.corpus` into `output_dir`.

    Args:
        recipe: `Recipe`. The objective's part of the run.
        config: the objective's config dataclass (`RunConfig`).
        output_dir: str. OUTPUT, created if missing; a run there resumes.
        vocab_file: str or None. A WordPiece vocabulary to use instead of training one.

    Returns:
        dict. The last round's metrics (training, and `val_*` held-out ones) and `step`, the optimizer
        updates made, as floats (those of `metrics.json` when the run had finished already).
    """
    check_supported(recipe, config)
    strategy = loop.create_strategy(config.training.strategy)  # before any other TensorFlow work
    chief = loop.is_chief(strategy)
    prepare_output_dir(output_dir)
    vocabulary_stamp = file_stamp(os.path.join(output_dir, "vocab.txt"))  # before the chief can write a new one
    config = config.replace(
        data=config.data.replace(corpus=tuple(os.path.abspath(p) for p in config.data.corpus))
    ).validated()
    init_from = config.training.init_from
    if init_from:
        config, vocab_file = continue_from(config, vocab_file)
    if vocab_file is not None:
        size = len(load_vocabulary(vocab_file))
        config = config.replace(tokenizer=config.tokenizer.replace(vocabulary_size=size))
    resuming = has_checkpoint(os.path.join(output_dir, "checkpoints"))
    if resuming:
        config = check_resumable(recipe, config, output_dir)
    # A resumed run restores its own checkpoint, so the source model is loaded only for a new run.
    source_model = load_pretrained(init_from).model if init_from and not resuming else None
    scratch = None if chief else tempfile.mkdtemp(prefix="pretrain-worker-")
    workspace = Workspace(output_dir, scratch or output_dir, chief, *loop.worker_shard(strategy))
    previous_policy = keras.config.dtype_policy()
    try:
        counts = split_corpus(config.data, workspace.data_dir)
        check_corpus(recipe, config, counts)
        tokens = prepare_vocabulary(
            config, output_dir, workspace.data_dir, vocab_file, resuming, chief, vocabulary_stamp,
            complete=functools.partial(recipe.vocabulary, config),
        )
        tokenizer = WordPieceTokenizer(tokens, **tokenizer_options(config))
        keras.mixed_precision.set_dtype_policy(config.training.precision)
        keras.utils.set_random_seed(config.training.seed)
        return train_and_export(recipe, config, strategy, workspace, tokens, tokenizer, counts, source_model)
    finally:
        keras.config.set_dtype_policy(previous_policy)  # the caller's process keeps its own
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def train_and_export(recipe, config, strategy, workspace, tokens, tokenizer, counts, source_model=None):
    """Builds the model, restores or starts its weights, trains it to `config.training.steps` and exports it."""
    output_dir = workspace.output_dir
    with strategy.scope():
        model = recipe.build_model(config, tokens)
        compile_pretrainer(model, config.training)
        checkpointer = create_checkpointer(
            model, os.path.join(output_dir, "checkpoints"), workspace.chief, config.training.keep_checkpoints
        )
        step = checkpointer.restore()
        if source_model is not None:
            copied = copy_pretrained_weights(source_model, model)
            logger.info(f"Starting from {copied} variables of {config.training.init_from}")
        elif not step:
            recipe.start_weights(model, config, tokenizer, workspace)
    config = config.replace(backbone=model.backbone.get_config())
    if workspace.chief:
        config.save(os.path.join(output_dir, "config.json"))
    if step:
        logger.info(f"Resuming from step {step} ({checkpointer.restored})")
    finished = finished_metrics(output_dir, step, config.training.steps)
    if finished is not None:
        checkpointer.close()
        return finished
    metrics = {}
    if step < config.training.steps:
        train, heldout = recipe.datasets(config, tokenizer, counts, workspace)
        train = loop.skip_trained_batches(train, step, config.training)
        metrics = loop.fit(model, train, heldout, config.training, checkpointer, workspace.log_dir, step)
    metrics = {name: float(value) for name, value in dict(metrics, step=loop.updates_done(model)).items()}
    if workspace.chief:
        export_outputs(recipe, model, config, output_dir)
        with open(os.path.join(output_dir, "metrics.json"), "w", encoding="utf-8") as file:
            json.dump(metrics, file, indent=2, sort_keys=True)
    checkpointer.close()
    return metrics


def export_outputs(recipe, model, config, output_dir):
    """The chief's exports of a trained run: `model.keras`, then the objective's own (`Recipe.export`)."""
    recipe.prepare_export(model)
    with atomic_file(os.path.join(output_dir, "model.keras")) as staging:
        model.save(staging)
    recipe.export(model, config, output_dir)


def check_supported(recipe, config):
    """Refuses a distribution strategy or `--init-from` that `recipe` does not support."""
    strategy, model = config.training.strategy, config.model
    if strategy != "default" and not recipe.distributed:
        raise UsageError(f"--strategy {strategy}: `pretrain {model}` trains in one process; drop --strategy")
    if config.training.init_from and not recipe.continues_runs:
        raise UsageError(f"--init-from: `pretrain {model}` cannot start from an earlier run; drop --init-from")


def prepare_output_dir(output_dir):
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create output directory {output_dir}: {error.strerror}") from None
    if not os.access(output_dir, os.W_OK | os.X_OK):
        raise UsageError(f"output directory {output_dir} is not writable; choose another --output")


def has_checkpoint(checkpoint_dir):
    """Whether `checkpoint_dir` holds a checkpoint (of either backend's format) to resume from."""
    return latest_checkpoint(checkpoint_dir) is not None


def check_resumable(recipe, config, output_dir):
    """The config to resume the run in `output_dir` with (`resume_check.resumable_config`)."""
    config_path = os.path.join(output_dir, "config.json")
    saved = recipe.saved_config(config_path)
    return resumable_config(config, saved, output_dir, recipe.resume_hint.format(config_path=config_path))


def check_corpus(recipe, config, counts):
    """Fails early on a corpus too small for the objective."""
    needed, reason = recipe.minimum_train_documents(config)
    if counts["train_documents"] < needed:
        raise UsageError(
            f"{', '.join(config.data.corpus)} has {counts['train_documents']} training document(s); "
            f"{reason or 'pretraining needs at least one'}"
        )


def finished_metrics(output_dir, step, steps):
    """The metrics of a run that finished and exported already (`metrics.json` is written last), else None."""
    metrics_path = os.path.join(output_dir, "metrics.json")
    if step < steps or not os.path.exists(metrics_path):
        return None
    logger.info(f"{output_dir} finished at step {step} already; its outputs are kept")
    with open(metrics_path, encoding="utf-8") as file:
        return json.load(file)
