"""One ELMo pretraining run: a corpus to a forward and backward LSTM language model and its backbone SavedModel.

`run_elmo_pretraining(config, output_dir)` is `pretrain elmo`: it trains (or
reuses) a WordPiece vocabulary, cuts the corpus into windows of `seq_length`
tokens, trains with AdamW (warmup then linear decay, checkpoints, resume,
TensorBoard logs, held-out evaluation) and writes

    vocab.txt       the WordPiece vocabulary
    config.json     the `ElmoPretrainConfig` ("model": "elmo")
    data/           the corpus split into train.txt and heldout.txt
    checkpoints/    tf.train checkpoints, named by optimizer update
    logs/           TensorBoard logs
    model.keras     the pretrainer; its sub-layer "backbone" is the Elmo model
    backbone/       SavedModel of the backbone (saved_models.backbone_export):
                    token_ids + padding_mask in, sequence_output (the learned
                    mix of layers), layer_outputs, forward/backward outputs out;
                    `preprocess` turns strings into those inputs
    metrics.json    the final training and held-out metrics
"""

import os

import keras
import tensorflow as tf

from pretrain.atomic_files import atomic_file
from pretrain.examples.elmo_examples import elmo_dataset
from pretrain.objectives.elmo_pretrainer import ElmoPretrainer, build_backbone
from pretrain.runs.model_run import finish_run, prepare_corpus, train_with_resume
from pretrain.runs.pretrain_run import prepare_vocabulary
from pretrain.text.corpus import read_documents
from pretrain.text.tokenizer import WordPieceTokenizer
from saved_models.backbone_export import export_backbone


def build_datasets(config, tokenizer, data_dir, counts):
    """Shuffled endless training batches and a fixed set of held-out batches (or None)."""
    batch_size, seq_length = config.training.batch_size, config.data.seq_length
    train_path, heldout_path = os.path.join(data_dir, "train.txt"), os.path.join(data_dir, "heldout.txt")
    train = elmo_dataset(lambda: read_documents(train_path), tokenizer, seq_length)
    train = train.shuffle(1000, seed=config.training.seed).repeat().batch(batch_size, drop_remainder=True)
    heldout = None
    if config.training.eval_batches and counts["heldout_documents"]:
        heldout = elmo_dataset(lambda: read_documents(heldout_path), tokenizer, seq_length)
        heldout = heldout.batch(batch_size).take(config.training.eval_batches).cache()
    return train.prefetch(tf.data.AUTOTUNE), heldout


def run_elmo_pretraining(config, output_dir, vocab_file=None):
    """Pretrains an `Elmo` backbone on `config.data.corpus` into `output_dir`.

    Returns:
        dict. The last round's metrics (training, and `val_*` held-out ones).
    """
    config, data_dir, counts, resuming = prepare_corpus(config, output_dir)
    vocabulary = prepare_vocabulary(config, output_dir, data_dir, vocab_file, resuming, chief=True)
    tokenizer_options = {"lowercase": config.tokenizer.lowercase, "strip_accents": config.tokenizer.strip_accents}
    tokenizer = WordPieceTokenizer(vocabulary, **tokenizer_options)
    keras.utils.set_random_seed(config.training.seed)
    model = ElmoPretrainer(build_backbone(config, vocabulary), name="elmo_pretrainer")
    config, metrics, final_step = train_with_resume(
        model, config, output_dir, lambda: build_datasets(config, tokenizer, data_dir, counts)
    )
    model.backbone.get_layer("scalar_mix").trainable = True  # for fine-tuning
    with atomic_file(os.path.join(output_dir, "model.keras")) as staging:
        model.save(staging)
    export_backbone(
        model.backbone,
        os.path.join(output_dir, "backbone"),
        os.path.join(output_dir, "vocab.txt"),
        tokenizer_options,
        seq_length=config.data.seq_length,
    )
    return finish_run(metrics, final_step, output_dir)
