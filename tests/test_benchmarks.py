"""The backbone benchmark runs end to end at toy sizes, and its matmul-only floor counts our step's matmuls."""

import importlib.util
import math
import os
import subprocess
import sys

from repo_root import REPO_ROOT

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
