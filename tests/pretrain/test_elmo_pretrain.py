"""`pretrain elmo`: both language models learn, the CLI trains on real text and exports a backbone."""

import json
import os

import keras
import numpy as np

import cli
from layers.elmo import Elmo
from pretrain.objectives.elmo_pretrainer import ElmoPretrainer
from tests.helpers.fresh_process import run_outside_checkout
from tests.helpers.pretrain_runs import write_lines_corpus


def test_forward_and_backward_models_learn_a_deterministic_sequence():
    keras.utils.set_random_seed(0)
    # Token t + 1 follows token t (and t - 1 precedes it): both directions can reach perplexity 1.
    starts = np.random.default_rng(0).integers(0, 10, 256)
    token_ids = (5 + (starts[:, None] + np.arange(12)[None, :]) % 10).astype("int32")
    x = {"token_ids": token_ids, "padding_mask": np.ones_like(token_ids)}
    model = ElmoPretrainer(Elmo(vocabulary_size=15, num_layers=1, hidden_dim=16, dropout=0.0, name="backbone"))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(x, token_ids, batch_size=32, epochs=12, verbose=0).history
    assert history["forward_perplexity"][-1] < 1.3
    assert history["backward_perplexity"][-1] < 1.3
    assert history["forward_perplexity"][0] > 5


def test_cli_trains_characters_model_and_exports_backbone(tmp_path, lee_corpus_path):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path / "lee.txt"), documents=16)
    output = str(tmp_path / "out")
    arguments = [
        "elmo", "--corpus", corpus, "--output", output, "--input-type", "characters",
        "--hidden-dim", "16", "--steps", "4", "--batch-size", "4", "--seq-length", "16",
        "--vocab-size", "300", "--checkpoint-every", "2", "--eval-batches", "1", "--heldout-every", "4",
    ]
    assert cli.main(arguments) == 0
    with open(os.path.join(output, "config.json"), encoding="utf-8") as file:
        config = json.load(file)
    assert config["model"] == "elmo" and config["backbone"]["input_type"] == "characters"
    with open(os.path.join(output, "metrics.json"), encoding="utf-8") as file:
        metrics = json.load(file)
    assert metrics["step"] == 4 and metrics["val_forward_perplexity"] > 1.0
    code = (
        "import sys, tensorflow as tf, tensorflow_text\n"
        "backbone = tf.saved_model.load(sys.argv[1])\n"
        "inputs = backbone.signatures['preprocess'](text=tf.constant(['Police said the fire was out.']))\n"
        "out = backbone.signatures['serving_default'](**inputs)\n"
        "assert out['sequence_output'].shape == (1, 16, 32), out['sequence_output'].shape\n"
        "assert out['layer_outputs'].shape == (1, 3, 16, 32)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('layers', 'pretrain', 'tasks', 'saved_models')]\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    assert run_outside_checkout(code, os.path.join(output, "backbone"), cwd=tmp_path).strip().endswith("ok")


def test_bad_option_is_a_one_line_usage_error(tmp_path, lee_corpus_path, capsys):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path / "lee.txt"), documents=4)
    assert cli.main(["elmo", "--corpus", corpus, "--output", str(tmp_path / "o"), "--seq-length", "1"]) == 2
    error = capsys.readouterr().err
    assert "--seq-length must be at least 2" in error and "Traceback" not in error
