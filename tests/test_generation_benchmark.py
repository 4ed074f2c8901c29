"""benchmarks/generation.py at toy sizes: our decoding loops and perplexity against keras-hub's, with the verdicts
(equal outputs, SavedModels loading without keras_hub) and the ratios printed."""

import re

from tests.helpers.benchmark_runs import run_benchmark

TOY_SIZES = [
    "--size", "tiny", "--vocabulary-size", "64", "--batch-size", "2", "--prompt-length", "3", "--new-tokens", "3",
    "--num-beams", "2", "--top-k", "5", "--repeats", "1", "--warmup", "0",
    "--ppl-batch", "2", "--ppl-length", "8", "--ppl-vocabulary", "64", "--ppl-hidden", "8", "--ppl-repeats", "1",
]


def test_generation_benchmark_prints_verdicts_and_ratios_at_toy_sizes():
    out = run_benchmark("generation.py", *TOY_SIZES).stdout
    # Same decoder, same cache, same prompts: greedy decoding cannot differ.
    assert "greedy: outputs token-for-token equal: yes (6/6 generated tokens equal" in out, out
    assert re.search(r"beam \(2 beams, no length penalty\): outputs token-for-token equal: (yes|no) ", out), out
    assert re.search(r"beam sequence scores .*: ours -?[\d.]+, keras-hub -?[\d.]+, max \|ours - keras-hub\| ", out)
    assert "a second call gives the same text: ours yes, keras-hub " in out  # ours is stateless
    for strategy in ("greedy", "beam"):
        line = re.search(rf"{strategy} generated tokens/s \(median of 1\): ours ([\d,.]+), keras-hub ([\d,.]+), "
                         r"ratio ours/keras-hub = ([\d.]+)", out)
        assert line, out
        ours, theirs, ratio = (float(line.group(i).replace(",", "")) for i in (1, 2, 3))
        assert ours > 0 and theirs > 0 and abs(ratio - ours / theirs) < 0.01 * ratio + 1e-3
    assert re.search(r"beam step's cache reorder \(.*\): keras-hub's take_along_axis [\d.]+ ms, ours' gather", out)
    assert "(import keras_hub there succeeds: no)" in out and "of them imported there: none" in out, out
    for side in ("ours", "keras-hub"):
        assert (f"SavedModel tracing {side} greedy and beam loops, in that process: loads and runs: yes, "
                "greedy output equal: yes, beam output equal: yes; ops unknown to TensorFlow: none") in out, out
    values = re.search(r"perplexity on one batch \(\d+ weighted tokens\): ours ([\d.]+), keras-hub ([\d.]+), "
                       r"relative difference ([\d.e+-]+)", out)
    assert values, out
    assert abs(float(values.group(1)) - float(values.group(2))) <= 1e-4 * float(values.group(2))
    cost = re.search(r"perplexity cost at batch 2 x 8, vocabulary 64, hidden 8 .*keras-hub from full logits: peak "
                     r"[\d,]+ MB, [\d.]+ s; ours, fused loss \+ metric: peak [\d,]+ MB, [\d.]+ s; .*"
                     r"\(relative difference ([\d.e+-]+)\)", out)
    assert cost and float(cost.group(1)) < 1e-4, out
