"""The run around a model that `pretrain seq2seq` and `pretrain elmo` share.

Both commands split the corpus once into OUTPUT/data, train one model on one
process with checkpoints and resume, and end by writing metrics.json; only
the vocabulary, the model and the export differ, and those are in
`seq2seq_run.py` and `elmo_run.py`.
"""

import json
import logging
import os

import tensorflow as tf

from pretrain.errors import UsageError
from pretrain.runs.pretrain_run import prepare_output_dir
from pretrain.text.corpus_split import split_corpus
from pretrain.training import loop
from pretrain.runs.resume_check import resumable_config
from pretrain.training.optimizer import create_optimizer

logger = logging.getLogger(__name__)


def prepare_corpus(config, output_dir):
    """Validates `config` and splits its corpus into OUTPUT/data.

    Returns:
        `(config, data_dir, counts, resuming)`: the config with absolute corpus
        paths, the split's directory and document counts, and whether a
        checkpoint already exists.
    """
    config = config.replace(
        data=config.data.replace(corpus=tuple(os.path.abspath(p) for p in config.data.corpus))
    ).validated()
    prepare_output_dir(output_dir)
    resuming = tf.train.latest_checkpoint(os.path.join(output_dir, "checkpoints")) is not None
    data_dir = os.path.join(output_dir, "data")
    counts = split_corpus(config.data, data_dir)
    if not counts["train_documents"]:
        raise UsageError(f"{', '.join(config.data.corpus)} holds no training document")
    return config, data_dir, counts, resuming


def train_with_resume(model, config, output_dir, build_datasets):
    """Compiles `model`, resumes from OUTPUT/checkpoints, saves the config and
    trains to `config.training.steps`.

    Args:
        build_datasets: callable `() -> (train, heldout)`: endless training
            batches, the same on every call, and held-out batches (or None).
            A resumed run skips the training batches its restored update
            count implies, so it trains on the batches of a run never
            interrupted.

    Returns:
        `(config, metrics, final_step)`: the config with the backbone's config,
        the last round's metrics ({} when the run had already finished) and the
        update counter.
    """
    checkpoint_dir = os.path.join(output_dir, "checkpoints")
    config_path = os.path.join(output_dir, "config.json")
    if tf.train.latest_checkpoint(checkpoint_dir) is not None and os.path.exists(config_path):
        with open(config_path, encoding="utf-8") as file:
            saved = json.load(file)
        config = resumable_config(config, saved, output_dir, "rerun it with the options in " + config_path)
    model.compile(optimizer=create_optimizer(config.training, model), jit_compile=config.training.jit_compile)
    checkpointer = loop.Checkpointer(model, checkpoint_dir, max_to_keep=config.training.keep_checkpoints)
    step = checkpointer.restore()
    config = config.replace(backbone=model.backbone.get_config())
    config.save(os.path.join(output_dir, "config.json"))
    if step:
        logger.info(f"Resuming from step {step} ({checkpointer.restored})")
    metrics = {}
    if step < config.training.steps:
        train, heldout = build_datasets()
        train = loop.skip_trained_batches(train, step, config.training)
        metrics = loop.fit(
            model, train, heldout, config.training, checkpointer, os.path.join(output_dir, "logs"), step
        )
    return config, metrics, int(model.optimizer.iterations)


def finish_run(metrics, final_step, output_dir):
    """Writes OUTPUT/metrics.json (a rerun of a finished run keeps the one it
    wrote) and returns the metrics as floats."""
    metrics = {name: float(value) for name, value in dict(metrics, step=final_step).items()}
    if len(metrics) > 1:
        with open(os.path.join(output_dir, "metrics.json"), "w", encoding="utf-8") as file:
            json.dump(metrics, file, indent=2, sort_keys=True)
    return metrics

