"""benchmarks/accelerator.py at toy size on CPU: tokens/s of every side, ratios against keras-hub, model FLOPs per
token and the share of the measured matrix rate, all printed and positive; the FLOP accounting at BASE size."""

import importlib.util
import os
import re

from tests.helpers.benchmark_runs import run_benchmark
from tests.helpers.repo_root import REPO_ROOT

TOY = ["--preset", "tiny", "--num-layers", "1", "--vocabulary-size", "500", "--cases", "bert-128", "gpt-1024",
       "--steps", "1", "--warmup-steps", "1"]
NUMBER = r"([\d,]+(?:\.\d+)?)"


def number(text):
    return float(text.replace(",", ""))


def load_accelerator_benchmark():
    spec = importlib.util.spec_from_file_location("accelerator", os.path.join(REPO_ROOT, "benchmarks", "accelerator.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_flops_per_token_at_base_size():
    accelerator = load_accelerator_benchmark()
    base = {"num_layers": 12, "hidden_dim": 768, "num_heads": 12, "intermediate_dim": 3072}
    # GPT-2 small: 85.0 M block weights + the tied 50257 x 768 projection (its 124 M parameters less the
    # position embeddings, biases and LayerNorms); attention 12 * 12 layers * 1024 * 768.
    flops, weights = accelerator.model_flops_per_token(base, 50257, 1024, None)
    assert weights == 12 * (4 * 768**2 + 2 * 768 * 3072) + 50257 * 768 == 123_532_032
    assert flops == 6 * weights + 12 * 12 * 1024 * 768
    # BERT: the masked-LM head (dense + tied projection) runs at 76 of 512 tokens.
    flops, weights = accelerator.model_flops_per_token(base, 30522, 512, 76)
    assert weights == 12 * (4 * 768**2 + 2 * 768 * 3072) + (768**2 + 30522 * 768) * 76 / 512


def test_benchmark_prints_ratios_flops_and_matrix_share_at_toy_size_on_cpu():
    out = run_benchmark("accelerator.py", *TOY).stdout
    assert "device: cpu," in out and "dtype policy float32" in out, out  # float32 by default on CPU
    assert "ours dropout 0.1, attention dropout 0.1; keras-hub dropout 0.1" in out, out
    rate = re.search(rf"matrix rate: float32 1024\^3 matmul, best of 3: {NUMBER} TFLOP/s", out)
    assert rate and number(rate.group(1)) > 0, out
    assert "model FLOPs per token = 6 * N + 12 * L * T * H" in out
    for case, model in (("bert-128", "BERT"), ("gpt-1024", "GPT")):
        header = re.search(rf"{case}: {model} batch \d+ x \d+.*model FLOPs per token {NUMBER} GFLOP \(N = {NUMBER} M\)",
                           out)
        assert header and number(header.group(1)) > 0 and number(header.group(2)) > 0, out
        section = out[header.end():]
        tokens = {}
        for side in ("keras-hub", "ours (logits)", "ours (fused loss)"):
            line = re.search(rf"  {re.escape(side)} +{NUMBER} tokens/s \({NUMBER} s/step, jit_compile=\w+\), "
                             rf"{NUMBER}% of the matrix rate(?:, ratio ours/keras-hub {NUMBER})?", section)
            assert line, section
            tokens[side], seconds, share = (number(line.group(i)) for i in (1, 2, 3))
            assert tokens[side] > 0 and seconds > 0 and share > 0, line.group(0)
            if side != "keras-hub":
                ratio = number(line.group(4))
                assert ratio > 0 and abs(ratio - tokens[side] / tokens["keras-hub"]) <= 0.01 * ratio + 0.005
        row = re.search(rf"\| {case} \| {NUMBER} \| {NUMBER} \({NUMBER}x\) \| {NUMBER} \({NUMBER}x\) \|", out)
        assert row and all(number(row.group(i)) > 0 for i in range(1, 6)), out
