"""The benchmarks run at toy sizes: backbones (ratios, matmul-only floor), pretrain (throughput from the run's
round stamps) and pretraining_pays (table, resume)."""

import importlib.util
import math
import os
import subprocess
import sys

from tests.helpers.repo_root import REPO_ROOT

TOY_SIZES = [
    "--batch-size", "4", "--sequence-length", "16", "--vocabulary-size", "120", "--masked-positions", "3",
    "--num-layers", "2", "--hidden-dim", "16", "--num-heads", "2", "--intermediate-dim", "32",
]


def load_backbones_benchmark():
    spec = importlib.util.spec_from_file_location("backbones", os.path.join(REPO_ROOT, "benchmarks", "backbones.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def floor_flops(backbones, args, model):
    return 3 * sum(2 * math.prod(lhs) * rhs[-1] for lhs, rhs in backbones.forward_matmul_shapes(args, model))


def test_floor_shapes_count_the_model_flops():
    backbones = load_backbones_benchmark()
    args = backbones.parse_arguments(TOY_SIZES + ["--sequence-length", "2048"])  # several 1024-row loss chunks
    assert floor_flops(backbones, args, "gpt") == backbones.training_flops(args, "gpt")
    # With every position masked but [CLS], the last BERT block runs in full: only the pooler
    # (which the masked-LM loss does not use) is left out of the floor.
    args = backbones.parse_arguments(TOY_SIZES + ["--masked-positions", "15"])
    pooler = 3 * 2 * args.batch_size * args.hidden_dim**2
    assert floor_flops(backbones, args, "bert") == backbones.training_flops(args, "bert") - pooler
    # With 3 of 16 positions, the last block runs at 4 rows per sequence and the floor is smaller.
    args = backbones.parse_arguments(TOY_SIZES)
    assert floor_flops(backbones, args, "bert") < backbones.training_flops(args, "bert") - pooler


def test_benchmark_prints_ratios_and_floors_at_toy_sizes():
    command = [sys.executable, "benchmarks/backbones.py", *TOY_SIZES, "--steps", "1", "--warmup-steps", "1", "--jit", "off"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    assert result.returncode == 0, result.stderr[-3000:]
    for model in ("BERT", "GPT"):
        assert f"{model} ratio ours/keras-hub = " in result.stdout
        assert f"{model} matmul-only floor of our step: " in result.stdout


def _write_toy_corpora(directory, lee_corpus_path):
    """A `pretrain corpus fetch` output at toy size: Lee's news as pretraining text, and an IMDB-like split
    whose label is carried by the words "great" / "awful" among Lee's sentences."""
    import csv

    stories = [line.strip() for line in open(lee_corpus_path, encoding="utf-8") if line.strip()]
    os.makedirs(os.path.join(directory, "news", "pretrain"))
    with open(os.path.join(directory, "news", "pretrain", "news.txt"), "w", encoding="utf-8") as file:
        file.write("\n\n".join(stories[:60]))
    os.makedirs(os.path.join(directory, "imdb"))
    for split, offset in (("train", 60), ("test", 120)):
        with open(os.path.join(directory, "imdb", f"{split}.csv"), "w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["text", "label"])
            for index in range(40):
                label = ("pos", "neg")[index % 2]
                word = "great" if label == "pos" else "awful"
                writer.writerow([f"{word} film . {stories[offset + index][:200]} {word} {word}", label])


def test_pretraining_pays_runs_the_recipe_and_resumes(tmp_path, lee_corpus_path):
    import json

    corpora, output = str(tmp_path / "corpora"), str(tmp_path / "pays")
    _write_toy_corpora(corpora, lee_corpus_path)
    command = [
        sys.executable, "benchmarks/pretraining_pays.py", "--corpora", corpora, "--output", output,
        "--pretrain-steps", "2", "--labels", "40", "--test-size", "40", "--seeds", "0", "--rotten-tomatoes", "0", "0",
        "--pretrain-options", "--batch-size", "4", "--seq-length", "32", "--vocab-size", "300",
        "--checkpoint-every", "2", "--eval-batches", "1", "--heldout-every", "4",
    ]
    environment = dict(os.environ, PYTHONPATH=REPO_ROOT)
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(os.path.join(output, "results.json")) as file:
        results = json.load(file)
    entry = results["IMDB, 40 labels"]
    assert entry["test_size"] == 40 and 0.0 <= entry["tfidf"] <= 1.0
    for model in ("pretrained", "random_init", "token_vectors_only"):
        assert 0.0 <= entry[model]["0"] <= 1.0
    assert entry["finetune_config"]["pooling"] == "mean"  # no NSP: the pooler was never trained
    assert "| IMDB, 40 labels | 40 |" in result.stdout
    # A second run reads everything back: nothing is pretrained or fine-tuned again.
    again = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, env=environment)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "seed 0:" not in again.stdout and "finished at step 2 already" in again.stderr  # logged
    with open(os.path.join(output, "results.json")) as file:
        assert json.load(file) == results


def test_pretrain_throughput_benchmark_reads_round_times_from_the_run(tmp_path):
    import re

    command = [sys.executable, "benchmarks/pretrain_throughput.py", "--models", "bert", "--preset", "tiny", "--batch-size", "4",
               "--seq-length", "32", "--vocab-size", "300", "--checkpoint-every", "4", "--rounds", "3",
               "--eval-batches", "1", "--model-steps", "2", "--pipeline-batches", "4"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
                            env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    assert result.returncode == 0, result.stderr[-3000:]
    line = re.search(r"pretrain bert: end to end ([\d,]+) tokens/s, model only ([\d,]+) tokens/s, ratio ([\d.]+); "
                     r"the input pipeline alone delivers ([\d,]+) tokens/s", result.stdout)
    assert line, result.stdout[-2000:]
    end_to_end, model_only, ratio = (float(line.group(i).replace(",", "")) for i in (1, 2, 3))
    assert end_to_end > 0 and model_only > 0
    assert abs(ratio - end_to_end / model_only) < 0.01
