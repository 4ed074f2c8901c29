"""Encoder–decoder pretraining: the recipe of T5 span corruption, from a corpus to a serving SavedModel.

`run_seq2seq_pretraining(config, output_dir)` is `pretrain seq2seq`: the run
skeleton (`pretrain.runs.run`) with `SEQ2SEQ_RECIPE`, in one process. It
appends the sentinels `[unused0..]` to the WordPiece vocabulary (OUTPUT/vocab.txt
holds them at the end), trains a `Seq2SeqPretrainer` with AdamW (warmup then
linear decay) and writes, beside the skeleton's vocab.txt, config.json (the
`Seq2SeqPretrainConfig`, "model": "seq2seq"), data/, checkpoints/, logs/,
model.keras (its sub-layer "backbone" is the Seq2SeqTransformer) and metrics.json:

    serving/        SavedModel: strings in, decoded strings out (saved_models.seq2seq_export)
"""

import os

import tensorflow as tf

from pretrain.examples.span_corruption import add_sentinels, span_corruption_dataset
from pretrain.objectives.seq2seq_pretrainer import Seq2SeqPretrainer, build_backbone, features_to_inputs
from pretrain.runs.recipe import Recipe, tokenizer_options
from pretrain.runs.run import run_objective
from pretrain.text.corpus import read_documents
from saved_models.tensorflow_process import export_run_model


def build_datasets(config, tokenizer, data_dir, counts, seed):
    """Endless training batches and a fixed set of held-out batches (or None).

    `data_dir` holds the corpus split by `pretrain.text.corpus_split.split_corpus`.
    """
    batch_size = config.training.batch_size
    train_path, heldout_path = os.path.join(data_dir, "train.txt"), os.path.join(data_dir, "heldout.txt")
    train = span_corruption_dataset(lambda: read_documents(train_path), tokenizer, config.data, seed)
    train = train.repeat().batch(batch_size, drop_remainder=True).map(features_to_inputs)
    heldout = None
    if config.training.eval_batches and counts["heldout_documents"]:
        heldout = span_corruption_dataset(lambda: read_documents(heldout_path), tokenizer, config.data)
        heldout = heldout.batch(batch_size).map(features_to_inputs)
        heldout = heldout.take(config.training.eval_batches).cache()
    return train.prefetch(tf.data.AUTOTUNE), heldout


class Seq2SeqRecipe(Recipe):
    """A `Seq2SeqTransformer` trained to reconstruct the spans corrupted out of its input."""

    def vocabulary(self, config, tokens):
        return add_sentinels(tokens, config.data.num_sentinels)

    def build_model(self, config, tokens):
        return Seq2SeqPretrainer(build_backbone(config, len(tokens)), name="seq2seq_pretrainer")

    def datasets(self, config, tokenizer, counts, workspace):
        return build_datasets(config, tokenizer, workspace.data_dir, counts, config.data.seed)

    def export(self, model, config, output_dir):
        export_run_model(  # from OUTPUT/model.keras in a TensorFlow process when training on JAX
            "seq2seq", model, output_dir,
            output_dir=os.path.join(output_dir, "serving"),
            vocabulary_path=os.path.join(output_dir, "vocab.txt"),
            tokenizer_options=tokenizer_options(config),
            input_length=config.data.input_length,
            num_beams=config.decoding.num_beams,
            max_length=config.decoding.max_length,
            length_penalty=config.decoding.length_penalty,
        )


SEQ2SEQ_RECIPE = Seq2SeqRecipe()


def run_seq2seq_pretraining(config, output_dir, vocab_file=None):
    """Pretrains a `Seq2SeqTransformer` on `config.data.corpus` into `output_dir` (`run.run_objective`).

    Returns:
        dict. The last round's metrics (training, and `val_*` held-out ones) and `step`.
    """
    return run_objective(SEQ2SEQ_RECIPE, config, output_dir, vocab_file)
