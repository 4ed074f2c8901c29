"""ELMo pretraining: the recipe of a forward and backward LSTM language model and its backbone SavedModel.

`run_elmo_pretraining(config, output_dir)` is `pretrain elmo`: the run
skeleton (`pretrain.runs.run`) with `ELMO_RECIPE`, in one process. It cuts the
corpus into windows of `seq_length` tokens, trains an `ElmoPretrainer` with
AdamW (warmup then linear decay) and writes, beside the skeleton's vocab.txt,
config.json (the `ElmoPretrainConfig`, "model": "elmo"), data/, checkpoints/,
logs/, model.keras (its sub-layer "backbone" is the Elmo model) and metrics.json:

    backbone/       SavedModel of the backbone (saved_models.backbone_export):
                    token_ids + padding_mask in, sequence_output (the learned
                    mix of layers), layer_outputs, forward/backward outputs out;
                    `preprocess` turns strings into those inputs
    metrics.json    the final training and held-out metrics
"""

import os

import tensorflow as tf

from pretrain.examples.elmo_examples import elmo_dataset
from pretrain.objectives.elmo_pretrainer import ElmoPretrainer, build_backbone
from pretrain.runs.recipe import Recipe, tokenizer_options
from pretrain.runs.run import run_objective
from pretrain.text.corpus import read_documents
from saved_models.tensorflow_process import export_run_model


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


class ElmoRecipe(Recipe):
    """An `Elmo` backbone: a forward and a backward LSTM language model over WordPiece tokens or their characters."""

    def build_model(self, config, tokens):
        return ElmoPretrainer(build_backbone(config, tokens), name="elmo_pretrainer")

    def datasets(self, config, tokenizer, counts, workspace):
        return build_datasets(config, tokenizer, workspace.data_dir, counts)

    def prepare_export(self, model):
        model.backbone.get_layer("scalar_mix").trainable = True  # frozen in pretraining, learned in fine-tuning

    def export(self, model, config, output_dir):
        vocabulary, backbone_dir = os.path.join(output_dir, "vocab.txt"), os.path.join(output_dir, "backbone")
        export_run_model("backbone", model, output_dir, output_dir=backbone_dir,
                         vocabulary_path=vocabulary, tokenizer_options=tokenizer_options(config),
                         seq_length=config.data.seq_length)


ELMO_RECIPE = ElmoRecipe()


def run_elmo_pretraining(config, output_dir, vocab_file=None):
    """Pretrains an `Elmo` backbone on `config.data.corpus` into `output_dir` (`run.run_objective`).

    Returns:
        dict. The last round's metrics (training, and `val_*` held-out ones) and `step`.
    """
    return run_objective(ELMO_RECIPE, config, output_dir, vocab_file)
