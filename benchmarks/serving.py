"""Serving throughput: the classifier SavedModel against the same model called through Keras, in one process.

A seeded, untrained `TextClassifier` (the speed does not depend on the weights) on a `layers.BertEncoder` of
size `--size` (BERT-mini by default: 4 layers, hidden 256) with a `TextPreprocessor` of `--seq-length` pieces
and a synthetic WordPiece vocabulary of `--vocabulary-size` tokens is exported with
`saved_models.serving_export.export_classifier_serving` and loaded back with `tf.saved_model.load`. For each
batch size in `--batch-sizes` (1 and 32 by default) one client sends up to `--requests` requests (64 distinct
batches in a cycle; a row stops after `--row-seconds` once 20 are timed) of texts of `--seq-length` words
(one in five out of the vocabulary, so several pieces: every sequence is full) to:

- raw text: the SavedModel's `serving_default` signature against its in-process Keras peer, the same work
  through Keras: `classifier.preprocessor` traced once into a graph (as the `tf.data` map of `fit` and
  `predict` traces it; called eagerly it adds ~20 ms of Python per request), then
  `classifier.predict_on_batch` and the softmax.
  Beside them, `--predict-requests` requests (timed on their own: each takes about a second) go to the
  toolkit's raw-text `classifier.predict(texts)`, which builds a `tf.data` pipeline per call;
- token ids: the `serve_ids` signature against `classifier.predict_on_batch` on the same packed ids and the
  softmax (the model alone, no tokenization).

The sides are called in turn, request by request (the order alternating), so load from other processes hits
them alike. Per side it prints requests/s (requests over the summed latency of one sequential client),
texts/s, and the p50 / p99 latency, then the ratio serving/Keras of requests/s (above 1: the SavedModel
answers faster). It first checks both sides give the same probabilities.

    .venv/bin/python benchmarks/serving.py                 # default run (~1-2 min on 2 busy cores)
    .venv/bin/python benchmarks/serving.py --size tiny --seq-length 64 --batch-sizes 1 8 64 --requests 300
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from layers import BACKBONE_SIZES, BertEncoder  # noqa: E402
from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer  # noqa: E402
from saved_models.serving_export import export_classifier_serving  # noqa: E402
from tasks.text_classifier import TextClassifier  # noqa: E402
from tasks.text_preprocessor import TextPreprocessor  # noqa: E402

LETTERS = "abcdefghijklmnopqrstuvwxyz"
POOL = 64  # distinct requests per batch size, sent in a cycle


def parse_arguments(argv=None):
    """The options from `argv` (the command line by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="mini", choices=sorted(BACKBONE_SIZES), help="BertEncoder size")
    parser.add_argument("--seq-length", type=int, default=128, help="the export's packed length")
    parser.add_argument("--vocabulary-size", type=int, default=30522)
    parser.add_argument("--num-classes", type=int, default=2)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32], help="texts per request")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per side and batch size, at most")
    parser.add_argument("--row-seconds", type=float, default=12.0,
                        help="stop a row's timing after this long (once 20 requests per side are timed)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per side and batch size")
    parser.add_argument("--predict-requests", type=int, default=5,
                        help="requests to `classifier.predict` on raw text (about 1 s each), timed apart; 0: none")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def synthetic_vocabulary(size):
    """The special tokens, the letters and their `##` suffix pieces (so any lowercase word tokenizes), then
    letter strings: "aa", "ab", ... up to `size` tokens."""
    vocabulary = list(SPECIAL_TOKENS) + list(LETTERS) + ["##" + letter for letter in LETTERS]
    length = 2
    while len(vocabulary) < size:
        for index in range(len(LETTERS) ** length):
            word = "".join(LETTERS[index // len(LETTERS) ** k % len(LETTERS)] for k in reversed(range(length)))
            vocabulary.append(word)
            if len(vocabulary) == size:
                break
        length += 1
    return vocabulary[:size]


def synthetic_texts(vocabulary, count, words, rng):
    """`count` texts of `words` words: vocabulary words, with one word in five out of vocabulary (several pieces)."""
    known = np.array([token for token in vocabulary if token.isalpha() and len(token) > 1])
    chosen = known[rng.integers(len(known), size=(count, words))]
    letters = np.array(list(LETTERS))[rng.integers(len(LETTERS), size=(count, words, 9))]
    unknown = rng.random((count, words)) < 0.2
    return [" ".join("".join(letters[i, j]) if unknown[i, j] else chosen[i, j] for j in range(words)) + "."
            for i in range(count)]


def plural(count, noun):
    return f"{count} {noun}" + ("" if count == 1 else "s")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def timed(sides, requests, count, warmup, seconds=float("inf"), at_least=20):
    """Calls each side on `count` requests (cycling through `requests`), in turn, the order alternating, after
    `warmup` untimed ones; stops early once `seconds` have passed and `at_least` requests are timed.
    Returns {side: list of seconds per request}."""
    for index in range(warmup):
        for call in sides.values():
            call(requests[index % len(requests)])
    latencies = {name: [] for name in sides}
    names = list(sides)
    started_all = time.perf_counter()
    for index in range(count):
        request = requests[(warmup + index) % len(requests)]
        for name in names if index % 2 == 0 else reversed(names):
            started = time.perf_counter()
            sides[name](request)
            latencies[name].append(time.perf_counter() - started)
        if index + 1 >= at_least and time.perf_counter() - started_all > seconds:
            break
    return latencies


def summary(latencies, batch_size):
    per_second = len(latencies) / sum(latencies)
    return per_second, (f"{per_second:,.1f} req/s ({per_second * batch_size:,.0f} texts/s), "
                        f"p50 {1000 * statistics.median(latencies):.2f} ms, p99 {1000 * percentile(latencies, 0.99):.2f} ms")


def main(argv=None):
    args = parse_arguments(argv)
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    vocabulary = synthetic_vocabulary(args.vocabulary_size)
    backbone = BertEncoder.from_size(args.size, vocabulary_size=len(vocabulary), max_sequence_length=args.seq_length)
    preprocessor = TextPreprocessor(WordPieceTokenizer(vocabulary), seq_length=args.seq_length)
    classifier = TextClassifier(backbone, args.num_classes, preprocessor=preprocessor)
    size = BACKBONE_SIZES[args.size]
    print(f"serving benchmark: TextClassifier on BertEncoder {args.size!r} ({size['num_layers']} layers, hidden "
          f"{size['hidden_dim']}), seq_length {args.seq_length}, vocabulary {len(vocabulary)}, {args.num_classes} "
          f"classes; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; TensorFlow {tf.__version__}, "
          f"Keras {keras.__version__}")

    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        path = export_classifier_serving(classifier, os.path.join(directory, "serving"))
        export_seconds = time.perf_counter() - started
        started = time.perf_counter()
        loaded = tf.saved_model.load(path)
        load_seconds = time.perf_counter() - started
    serve_text = loaded.signatures["serving_default"]
    serve_ids = loaded.signatures["serve_ids"]

    # The preprocessor as a graph, traced once, as the tf.data map of `fit` / `predict` on raw text traces it.
    preprocess = tf.function(classifier.preprocessor.__call__, input_signature=[tf.TensorSpec([None], tf.string)])

    def keras_text(texts):
        return tf.nn.softmax(classifier.predict_on_batch(preprocess(texts)), axis=-1)

    def keras_predict(texts):
        return tf.nn.softmax(classifier.predict(texts.numpy(), verbose=0), axis=-1)  # raw text: a NumPy array of bytes

    def keras_ids(inputs):
        return tf.nn.softmax(classifier.predict_on_batch(inputs), axis=-1)

    def serving_ids(inputs):
        return serve_ids(input_word_ids=inputs["token_ids"], input_mask=inputs["padding_mask"],
                         input_type_ids=inputs["segment_ids"])["probabilities"]

    check = tf.constant(synthetic_texts(vocabulary, 4, args.seq_length, rng))
    difference = float(np.max(np.abs(serve_text(text=check)["probabilities"].numpy() - keras_text(check).numpy())))
    print(f"export {export_seconds:.1f} s, tf.saved_model.load {load_seconds:.1f} s; same probabilities: "
          f"{'yes' if difference < 1e-4 else 'no'} (max |serving - keras| {difference:.1e})")

    for batch_size in args.batch_sizes:
        pool = min(args.warmup + args.requests, POOL)
        texts = [tf.constant(synthetic_texts(vocabulary, batch_size, args.seq_length, rng)) for _ in range(pool)]
        ids = [classifier.preprocessor(batch) for batch in texts]
        rows = [
            ("raw text", "serving_default", "keras preprocessor graph + predict_on_batch", texts,
             {"serving": lambda batch: serve_text(text=batch)["probabilities"], "keras": keras_text}),
            ("token ids", "serve_ids", "keras predict_on_batch", ids, {"serving": serving_ids, "keras": keras_ids}),
        ]
        for what, serving_name, keras_name, requests, sides in rows:
            latencies = timed(sides, requests, args.requests, args.warmup, args.row_seconds)
            serving_rate, serving_line = summary(latencies["serving"], batch_size)
            keras_rate, keras_line = summary(latencies["keras"], batch_size)
            print(f"batch {batch_size}, {what}, {plural(len(latencies['serving']), 'request')}: {serving_name} {serving_line} | "
                  f"{keras_name} {keras_line} | ratio serving/keras = {serving_rate / keras_rate:.2f}", flush=True)
            if what == "raw text" and args.predict_requests:
                predict = timed({"predict": keras_predict}, requests, args.predict_requests, 1)["predict"]
                predict_rate, predict_line = summary(predict, batch_size)
                print(f"  beside them, the toolkit's raw-text `classifier.predict(texts)` (a tf.data pipeline per call), "
                      f"{plural(len(predict), 'request')}: {predict_line}; ratio serving/predict = "
                      f"{serving_rate / predict_rate:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
