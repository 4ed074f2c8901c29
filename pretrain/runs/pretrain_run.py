"""BERT, ELECTRA and GPT pretraining: the recipe of a Transformer backbone trained on a lines corpus.

`run_pretraining(config, output_dir)` is what `pretrain bert`, `pretrain
electra` and `pretrain gpt` do: the run skeleton (`pretrain.runs.run`) with
`BACKBONE_RECIPE`, which builds the backbone and pretrainer of
`objective_of(config)`, shards the examples across workers (any distribution
strategy), may continue an earlier run (`--init-from`), starts the token
embedding from skip-gram vectors (`--token-vectors skipgram`) and exports the
backbone SavedModel.

Output directory (beside the skeleton's vocab.txt, config.json, data/, checkpoints/, logs/, model.keras and
metrics.json):

    backbone/       SavedModel of the backbone for fine-tuning and serving
    initial_token_embedding.npy   the skip-gram start of the token embedding (--token-vectors skipgram)
"""

import dataclasses
import logging
import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from layers import BACKBONE_SIZES
from pretrain.embeddings.token_vectors import initial_token_embedding, train_token_vectors
from pretrain.errors import UsageError
from pretrain.objectives.objective import objective_of
from pretrain.objectives.pretrained import build_pretrainer
from pretrain.runs.recipe import Recipe
from pretrain.runs.run import run_objective
from pretrain.training.pretrain_config import PretrainConfig
from saved_models.tensorflow_process import export_run_model

logger = logging.getLogger(__name__)

# The token embedding a run started from (--token-vectors skipgram), in its output directory.
INITIAL_TOKEN_EMBEDDING = "initial_token_embedding.npy"
# Examples are shuffled in a buffer of this many.
SHUFFLE_BUFFER = 1000


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
            **config.backbone_options(),
        )
    if config.data.seq_length > backbone.max_sequence_length:
        raise UsageError(
            f"--seq-length {config.data.seq_length} exceeds the backbone's "
            f"max_sequence_length {backbone.max_sequence_length}"
        )
    return backbone


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


def build_datasets(config, tokenizer, data_dir, counts, seed, worker_index=0, num_workers=1):
    """Endless training batches, from the first one on, and a fixed list of held-out batches (or None).

    The training batches are a pure function of `seed` and the batch number, so a resumed run that skips
    the batches its update count implies trains on the batches of a run never interrupted.
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


class BackboneRecipe(Recipe):
    """BERT, ELECTRA and GPT (`objective_of(config)`): a `BertEncoder` or `GptDecoder` backbone and its heads."""

    distributed = True
    continues_runs = True
    resume_hint = "pass --config {config_path}"

    def saved_config(self, path):
        return PretrainConfig.load(path).to_dict()  # read as this version writes it

    def minimum_train_documents(self, config):
        return config.minimum_train_documents()

    def build_model(self, config, tokens):
        return build_pretrainer(config, build_backbone(config, len(tokens)), name=f"{config.model}_pretrainer")

    def start_weights(self, model, config, tokenizer, workspace):
        if config.training.token_vectors == "skipgram":
            start_from_token_vectors(
                model.backbone, tokenizer, workspace.data_dir, workspace.output_dir, workspace.num_workers
            )

    def datasets(self, config, tokenizer, counts, workspace):
        return build_datasets(
            config, tokenizer, workspace.data_dir, counts, config.data.seed,
            workspace.worker_index, workspace.num_workers,
        )

    def export(self, model, config, output_dir):
        export_run_model(  # from OUTPUT/model.keras in a TensorFlow process when training on JAX
            "backbone", model, output_dir,
            output_dir=os.path.join(output_dir, "backbone"),
            vocabulary_path=os.path.join(output_dir, config.tokenizer.vocabulary),
            tokenizer_options=dataclasses.asdict(config.tokenizer),
            seq_length=config.data.seq_length,
            pooler_trained=config.pooler_trained,
        )


BACKBONE_RECIPE = BackboneRecipe()


def run_pretraining(config, output_dir, vocab_file=None):
    """Pretrains `config.model` on `config.data.corpus` into `output_dir` (`run.run_objective`).

    Returns:
        dict. The last round's metrics (training, and `val_*` held-out ones)
        and `step`, the optimizer updates made.
    """
    return run_objective(BACKBONE_RECIPE, config, output_dir, vocab_file)
