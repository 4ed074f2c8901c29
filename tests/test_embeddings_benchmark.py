"""benchmarks/embeddings.py at toy size: the same capped text for both trainers, and the fixed costs printed."""

import importlib.util
import os

from tests.helpers.benchmark_runs import run_benchmark
from tests.helpers.repo_root import REPO_ROOT


def load_embeddings_benchmark():
    spec = importlib.util.spec_from_file_location("embeddings_benchmark",
                                                  os.path.join(REPO_ROOT, "benchmarks", "embeddings.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sentences_are_capped_and_cut_into_gensim_sized_pieces(tmp_path):
    benchmark = load_embeddings_benchmark()
    (tmp_path / "book.txt").write_text(("word " * 25_000) + "\n\nshort document here\n")
    sentences = benchmark.read_sentences(str(tmp_path), "prose", 0)
    assert [len(s) for s in sentences] == [10_000, 10_000, 5_000, 3]  # gensim drops words past 10,000
    capped = benchmark.read_sentences(str(tmp_path), "prose", 12_345)
    assert [len(s) for s in capped] == [10_000, 2_345]


def test_toy_run_prints_the_ratio_rows_and_the_fixed_costs(lee_corpus_path):
    output = run_benchmark("embeddings.py", "--corpus", lee_corpus_path, "--corpus-format", "lines",
                           "--max-words", "20000", "--epochs", "1", "--repeats", "1", "--architectures", "cbow",
                           "--skip-glove").stdout
    assert "20,000 words" in output
    assert "ours cbow (median/mean)" in output and "gensim cbow (median/mean)" in output
    for cost in ("ours import (TensorFlow, trainer)", "ours vocabulary + tables", "ours evaluation", "ours export"):
        assert cost in output
