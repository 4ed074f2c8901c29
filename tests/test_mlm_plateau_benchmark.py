"""benchmarks/mlm_plateau.py at toy size: every variant trains and is scored at [MASK] inputs; a run dir is scored."""

import json
import os
import subprocess
import sys

import cli
from tests.helpers.pretrain_runs import tiny_run_arguments, write_lines_corpus
from tests.helpers.repo_root import REPO_ROOT


def test_variants_and_a_finished_run_are_scored_at_mask_inputs(lee_corpus_path, tmp_path):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path / "news.txt"))
    run_dir = str(tmp_path / "run")
    assert cli.main(["bert", *tiny_run_arguments(corpus, run_dir), "--no-nsp"]) == 0
    output = tmp_path / "plateau.jsonl"
    common = [
        sys.executable, "benchmarks/mlm_plateau.py", "--corpus", corpus,
        "--heldout", corpus, "--vocab", os.path.join(run_dir, "vocab.txt"),
        "--output", str(output), "--batch-size", "4", "--seq-length", "32", "--max-predictions", "5",
        "--eval-batches", "2",
    ]
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    for extra in (["--variants", *sorted(["bert", "normalize-first", "dropout0", "sinusoid-positions", "alibi"]),
                   "--steps", "4", "--every", "2"], ["--run", run_dir]):
        result = subprocess.run(common + extra, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "unigram baseline: held-out accuracy at [MASK] " in result.stdout
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [row.get("variant") for row in rows[:5]] == sorted(
        ["bert", "normalize-first", "dropout0", "sinusoid-positions", "alibi"])
    for row in rows[:5]:
        assert [updates for updates, _ in row["curve"]] == [2, 4]
        assert all(0.0 <= accuracy <= 1.0 for _, accuracy in row["curve"])
    assert rows[5]["run"] == run_dir and 0.0 <= rows[5]["accuracy"] <= 1.0 and 0.0 <= rows[5]["unigram"] <= 1.0
