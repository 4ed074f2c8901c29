"""benchmarks/linear_probe.py on a run that finishes in seconds: every backbone and layer is probed."""

import csv
import os
import subprocess
import sys

import cli
from tests.helpers.pretrain_runs import tiny_run_arguments, write_lines_corpus
from tests.helpers.repo_root import REPO_ROOT


def write_labelled(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return str(path)


def test_probes_every_layer_of_each_backbone(lee_corpus_path, tmp_path):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path / "news.txt"))
    run_dir = str(tmp_path / "run")
    assert cli.main(["bert", *tiny_run_arguments(corpus, run_dir), "--no-nsp"]) == 0
    assert os.path.isfile(os.path.join(run_dir, "initial_token_embedding.npy"))
    # A label any backbone's mean-pooled features show: which of two common words opens the sentence
    # (at the start, so that truncation to 32 tokens keeps it).
    with open(corpus, encoding="utf-8") as file:
        lines = [line.strip() for line in file if len(line.split()) > 5]
    cues = {"the": "first", "and": "second"}
    rows = [(f"{cue} {cue} {cue} {line}", label) for index, line in enumerate(lines)
            for cue, label in cues.items() if index % 2 == (label == "second")]
    half = len(rows) // 2
    train = write_labelled(tmp_path / "train.csv", rows[:half])
    test = write_labelled(tmp_path / "test.csv", rows[half:])
    result = subprocess.run(
        [sys.executable, "benchmarks/linear_probe.py", "--pretrained", run_dir, "--train", train, "--test", test,
         "--seq-length", "32", "--validation-size", "8"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=dict(os.environ, PYTHONPATH=REPO_ROOT),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = [line.replace(":", "").split() for line in result.stdout.splitlines() if "linear-probe" in line]
    assert [(row[0], row[1]) for row in table] == [
        (backbone, layer)
        for backbone in ("pretrained", "token_vectors_only", "random_init")
        for layer in ("embeddings", "transformer_layer_0", "transformer_layer_1")
    ]
    accuracies = {(row[0], row[1]): float(row[5]) for row in table}
    assert all(0.0 <= accuracy <= 1.0 for accuracy in accuracies.values())
    for backbone in ("pretrained", "token_vectors_only", "random_init"):  # chance is about 0.5
        assert accuracies[(backbone, "embeddings")] >= 0.8, result.stdout
    assert "last layer, pretrained / random init: ratio " in result.stdout
