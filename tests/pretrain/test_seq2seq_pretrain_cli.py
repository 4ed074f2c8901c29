"""`pretrain seq2seq` from the CLI on real text: outputs, resume (and a refused changed resume), a finished run
kept, serving SavedModel, bad input."""

import json
import os

import cli
from tests.helpers.fresh_process import run_outside_checkout
from tests.helpers.pretrain_runs import write_lines_corpus


def seq2seq_arguments(corpus, output, steps):
    return [
        "seq2seq", "--corpus", corpus, "--output", output, "--preset", "tiny", "--steps", str(steps),
        "--batch-size", "4", "--input-length", "32", "--vocab-size", "300", "--num-sentinels", "8",
        "--checkpoint-every", "3", "--eval-batches", "1", "--heldout-every", "4",
        "--num-beams", "2", "--max-decode-length", "12", "--length-penalty", "0.6",
    ]


def check_output_directory(output):
    for name in ("vocab.txt", "config.json", "checkpoints", "logs", "model.keras", "serving", "metrics.json"):
        assert os.path.exists(os.path.join(output, name)), name
    with open(os.path.join(output, "vocab.txt"), encoding="utf-8") as file:
        vocabulary = file.read().splitlines()
    assert vocabulary[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert vocabulary[-8:] == [f"[unused{i}]" for i in range(8)]
    with open(os.path.join(output, "config.json"), encoding="utf-8") as file:
        config = json.load(file)
    assert config["model"] == "seq2seq" and config["backbone"]["vocabulary_size"] == len(vocabulary)
    with open(os.path.join(output, "metrics.json"), encoding="utf-8") as file:
        metrics = json.load(file)
    assert metrics["step"] == 3 and 0.0 <= metrics["val_accuracy"] <= 1.0


def check_serving_model(serving_dir, cwd):
    """Loads the serving SavedModel in a process that imports only tensorflow and tensorflow_text."""
    code = (
        "import sys, tensorflow as tf, tensorflow_text\n"
        "serve = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "out = serve(text=tf.constant(['The [unused0] sat on the mat.', 'Police said']))\n"
        "assert out['output_text'].shape == (2,), out\n"
        "assert out['output_ids'].numpy()[:, 0].tolist() == [2, 2]\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('layers', 'pretrain', 'tasks', 'saved_models')]\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    assert run_outside_checkout(code, serving_dir, cwd=cwd).strip().endswith("ok")


def test_cli_trains_exports_a_serving_model_and_resumes(tmp_path, lee_corpus_path, capsys):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path / "lee.txt"), documents=16)
    output = str(tmp_path / "out")
    assert cli.main(seq2seq_arguments(corpus, output, steps=3)) == 0
    check_output_directory(output)
    check_serving_model(os.path.join(output, "serving"), str(tmp_path))
    with open(os.path.join(output, "serving", "assets.extra", "config.json"), encoding="utf-8") as file:
        assert json.load(file)["decoding"]["length_penalty"] == 0.6
    capsys.readouterr()
    assert cli.main(seq2seq_arguments(corpus, output, steps=5)) == 0
    logged = capsys.readouterr().err
    assert "Resuming from step 3" in logged and "Skipping the 3 training batches" in logged  # the data goes on
    with open(os.path.join(output, "metrics.json"), encoding="utf-8") as file:
        finished = json.load(file)
    assert finished["step"] == 5
    # A rerun of the finished run keeps its outputs: nothing is trained or exported again.
    serving_model = os.path.join(output, "serving", "saved_model.pb")
    exported_at = os.stat(serving_model).st_mtime_ns
    assert cli.main(seq2seq_arguments(corpus, output, steps=5)) == 0
    assert "finished at step 5 already; its outputs are kept" in capsys.readouterr().err
    assert os.stat(serving_model).st_mtime_ns == exported_at
    with open(os.path.join(output, "metrics.json"), encoding="utf-8") as file:
        assert json.load(file) == finished
    # Only --steps (and how it runs and decodes) may change on a resume; anything else is named and refused.
    changed = seq2seq_arguments(corpus, output, steps=5)
    changed[changed.index("--input-length") + 1] = "24"
    assert cli.main(changed) == 2
    error = capsys.readouterr().err
    assert "data.input_length: 32 in the checkpoint, 24 now" in error and "Traceback" not in error


def test_bad_option_is_a_one_line_usage_error(tmp_path, lee_corpus_path, capsys):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path / "lee.txt"), documents=4)
    arguments = seq2seq_arguments(corpus, str(tmp_path / "out"), steps=1) + ["--noise-density", "1.5"]
    assert cli.main(arguments) == 2
    error = capsys.readouterr().err
    assert "noise density must be in (0, 1)" in error and "Traceback" not in error


def test_negative_length_penalty_is_a_usage_error(tmp_path, lee_corpus_path, capsys):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path / "lee.txt"), documents=4)
    arguments = seq2seq_arguments(corpus, str(tmp_path / "out"), steps=1) + ["--length-penalty", "-1"]
    assert cli.main(arguments) == 2
    error = capsys.readouterr().err
    assert "--length-penalty must be >= 0" in error and "Traceback" not in error
