"""benchmarks/serving.py at toy sizes: the serving signatures and their Keras peers answer alike, and the
requests/s, latency and ratio lines are printed for each batch size."""

import re

from tests.helpers.benchmark_runs import run_benchmark

TOY_SIZES = ["--size", "tiny", "--seq-length", "16", "--vocabulary-size", "200", "--batch-sizes", "1", "4",
             "--requests", "4", "--warmup", "1", "--predict-requests", "1"]
SIDE = r"([\d,.]+) req/s \(([\d,]+) texts/s\), p50 ([\d.]+) ms, p99 ([\d.]+) ms"


def test_serving_benchmark_prints_rates_latencies_and_ratios_at_toy_sizes():
    out = run_benchmark("serving.py", *TOY_SIZES).stdout
    assert "serving benchmark: TextClassifier on BertEncoder 'tiny' (2 layers, hidden 128), seq_length 16" in out, out
    assert re.search(r"tf\.saved_model\.load [\d.]+ s; same probabilities: yes ", out), out
    rows = [("raw text", "serving_default", "keras preprocessor graph \\+ predict_on_batch"),
            ("token ids", "serve_ids", "keras predict_on_batch")]
    for batch_size in (1, 4):
        for what, serving, peer in rows:
            line = re.search(rf"batch {batch_size}, {what}, 4 requests: {serving} {SIDE} \| {peer} {SIDE} \| "
                             r"ratio serving/keras = ([\d.]+)", out)
            assert line, (batch_size, what, out)
            serving_rate, peer_rate, ratio = (float(line.group(i).replace(",", "")) for i in (1, 5, 9))
            assert serving_rate > 0 and peer_rate > 0
            assert abs(ratio - serving_rate / peer_rate) <= 0.01 * ratio + 0.01
            texts_per_second = float(line.group(2).replace(",", ""))
            assert abs(texts_per_second - serving_rate * batch_size) <= 0.01 * texts_per_second + 1
            for p50, p99 in ((3, 4), (7, 8)):
                assert 0 < float(line.group(p50)) <= float(line.group(p99))
        assert re.search(rf"batch {batch_size}, raw text, .*\n  beside them, the toolkit's raw-text "
                         rf"`classifier.predict\(texts\)` .*, 1 request: {SIDE}; ratio serving/predict = [\d.]+", out)
