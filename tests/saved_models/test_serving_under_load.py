"""The classifier serving SavedModel under concurrent load and hostile input, in a process without our code.

Four tiny fine-tuned classifiers are exported (single-label, single-label on pairs, multi-label, regression).
One fresh Python process (`tests.helpers.fresh_process.run_outside_checkout`, cwd outside the checkout) then

- makes keras and our packages unimportable, loads tensorflow and tf-text's op libraries (the C++ kernels
  TF Serving links) and the four SavedModels, and reports which of the blocked modules got imported (none
  may). Blocking is needed for the check to mean anything: `import tensorflow` 2.21 imports
  `keras.src.optimizers` whenever keras is installed, and `import tensorflow_text` imports keras for its
  Keras layers, so in a plain `import tensorflow_text` process keras is always in `sys.modules`.
- answers a pool of varied requests sequentially, then from 8 threads x 200 requests at once, and compares
  every concurrent answer with the sequential one for the same request; VmRSS is read before and after;
- sends hostile requests (empty, 100,000 characters, invalid UTF-8, punctuation only, batches of 0, 1 and
  1,000, pairs with an empty side, mismatched pair batches, wrong dtype, over-long ids, garbage Examples):
  each must get an answer of the documented shape or a TensorFlow error, and the process must survive;
- answers the multi-label and regression models, whose outputs the test compares with the Keras models'.
"""

import json

import keras
import numpy as np
import pytest

from saved_models.serving_export import export_classifier_serving
from tasks.backbone_loading import load_backbone
from tasks.text_classifier import TextClassifier
from tasks.text_preprocessor import TextPreprocessor
from tests.helpers.fresh_process import last_json_line, run_outside_checkout

SEQ_LENGTH = 16
TEXTS = ["a wonderful film with a great cast", "a dull and boring mess", "the history of the city",
         "great acting and a moving story", "the plot is weak and the film is boring", "the government changed"]
PAIRS = ["great", "boring", "old", "moving", "weak", "new"]
THREADS, REQUESTS_PER_THREAD = 8, 200
# Calibration (2 busy cores, four tiny models loaded, VmRSS ~960 MB): VmRSS grew ~2 MB over the first
# 8 x 200 round (the new threads' stacks and allocator arenas) and ~0.1 MB over a second one. 100 MB (and
# 30 MB for the second round) flags a per-request leak of 64 kB or more (1,600 requests) without tripping on
# allocator noise.
MAX_RSS_GROWTH_MB = 100
MAX_SECOND_ROUND_GROWTH_MB = 30
SERVE_IDS_NAMES = {"input_word_ids": "token_ids", "input_mask": "padding_mask", "input_type_ids": "segment_ids"}

CHILD_SCRIPT = r"""
import glob, importlib.util, json, os, random, sys, threading, time
BLOCKED = ("keras", "tf_keras", "layers", "pretrain", "tasks", "saved_models")
for name in BLOCKED:  # as if not installed: `import` raises ImportError, importlib.util.find_spec gives None
    sys.modules[name] = None
import numpy as np
import tensorflow as tf
# tf-text's kernels without its Python package (which imports keras), as TF Serving links them.
text_ops = os.path.join(importlib.util.find_spec("tensorflow_text").submodule_search_locations[0], "python", "ops")
for library in sorted(glob.glob(os.path.join(text_ops, "_*.so"))):
    tf.load_op_library(library)

def rss_mb():
    with open("/proc/self/status") as file:
        return next(int(line.split()[1]) for line in file if line.startswith("VmRSS:")) / 1024

def imported_blocked():
    return sorted(name for name, module in sys.modules.items() if module is not None and name.split(".")[0] in BLOCKED)

config = json.load(open(sys.argv[1]))
models = {name: tf.saved_model.load(path) for name, path in config["paths"].items()}
report = {"imported_after_load": imported_blocked()}
words = config["words"]
serve = models["single"].signatures["serving_default"]
serve_pair = models["pair"].signatures["serving_default"]

def plain(outputs):
    return {name: value.numpy() for name, value in outputs.items()}

def ask(texts):
    return plain(serve(text=tf.constant(texts, tf.string)))

def jsonable(outputs):
    return {name: (value.astype(str) if value.dtype.kind in "SO" else value).tolist() for name, value in outputs.items()}

# === Concurrency ===
rng = random.Random(0)
def random_text():
    chosen = [rng.choice(words) for _ in range(rng.randint(1, 30))]
    chosen = [word.upper() if rng.random() < 0.1 else word for word in chosen]
    return " ".join(chosen) + rng.choice(["", ".", "!", " ?", " cafe\u0301"])
pool = [[random_text() for _ in range(rng.randint(1, 4))] for _ in range(48)]
expected = [ask(texts) for texts in pool]  # sequential answers (also the warm-up)
rss_before = rss_mb()

def load_round():
    start_line = threading.Barrier(config["threads"])
    results = [None] * config["threads"]
    def client(index):
        mismatches, max_difference, latencies = 0, 0.0, []
        start_line.wait()
        for request in range(config["requests_per_thread"]):
            which = (index * 31 + request * 7) % len(pool)
            started = time.perf_counter()
            answer = ask(pool[which])
            latencies.append(time.perf_counter() - started)
            want = expected[which]
            difference = float(np.max(np.abs(answer["probabilities"] - want["probabilities"])))
            max_difference = max(max_difference, difference)
            same = (np.array_equal(answer["label"], want["label"]) and np.array_equal(answer["label_id"], want["label_id"])
                    and answer["probabilities"].shape == want["probabilities"].shape)
            mismatches += (not same) or difference > 1e-6
        results[index] = (mismatches, max_difference, latencies)
    threads = [threading.Thread(target=client, args=(index,)) for index in range(config["threads"])]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies = sorted(latency for result in results if result for latency in result[2])
    return {
        "answered": len(latencies), "seconds": seconds,
        "mismatches": sum(result[0] for result in results if result),
        "max_difference": max(result[1] for result in results if result),
        "p50_ms": 1000 * latencies[len(latencies) // 2], "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }

first = load_round()
rss_after_first = rss_mb()
second = load_round()
rss_after_second = rss_mb()
report["load"] = {"threads": config["threads"], "requests_per_thread": config["requests_per_thread"],
                  "rounds": [first, second], "rss_before_mb": rss_before, "rss_after_first_mb": rss_after_first,
                  "rss_after_second_mb": rss_after_second}

# === Hostile input ===
def attempt(call):
    try:
        outputs = plain(call())
        return {"answer": jsonable(outputs), "shapes": {name: list(value.shape) for name, value in outputs.items()}}
    except (tf.errors.OpError, TypeError, ValueError) as error:  # a clear error; anything else fails the script
        return {"error": type(error).__name__, "message": " ".join(str(error).split())[:2000]}

long_text = " ".join(words[i % len(words)] for i in range(100000 // 4))[:100000]
keep = config["seq_length"] - 2
one_word = "a" * 100000
invalid_utf8 = b"\xff\xfe\xfd " + words[0].encode() + b" \xc3\x28 \xed\xa0\x80 \x80"
punctuation = "!?.,;:'\"()[]{}-\u2013\u2014\u2026"
batch_1000 = [random_text() for _ in range(1000)]
hostile = {
    "empty": lambda: serve(text=tf.constant([""])),
    "long_text": lambda: serve(text=tf.constant([long_text])),
    "long_text_cut": lambda: serve(text=tf.constant([" ".join(long_text.split()[:keep])])),
    "one_long_word": lambda: serve(text=tf.constant([one_word])),
    "invalid_utf8": lambda: serve(text=tf.constant([invalid_utf8])),
    "punctuation": lambda: serve(text=tf.constant([punctuation])),
    "mixed_batch": lambda: serve(text=tf.constant(["", long_text.encode(), invalid_utf8, punctuation.encode()])),
    "batch_of_0": lambda: serve(text=tf.constant([], tf.string)),
    "batch_of_1": lambda: serve(text=tf.constant([batch_1000[0]])),
    "batch_of_1000": lambda: serve(text=tf.constant(batch_1000)),
    "wrong_dtype": lambda: serve(text=tf.constant([1, 2])),
    "ids_longer_than_positions": lambda: models["single"].signatures["serve_ids"](
        input_word_ids=tf.ones([1, 1000], tf.int32), input_mask=tf.ones([1, 1000], tf.int32),
        input_type_ids=tf.zeros([1, 1000], tf.int32)),
    "garbage_example": lambda: models["single"].signatures["serve_examples"](examples=tf.constant([b"not a serialized Example"])),
    "pair_second_empty": lambda: serve_pair(text=tf.constant([words[0]]), text_pair=tf.constant([""])),
    "pair_first_empty": lambda: serve_pair(text=tf.constant([""]), text_pair=tf.constant([words[0]])),
    "pair_both_empty": lambda: serve_pair(text=tf.constant([""]), text_pair=tf.constant([""])),
    "pair_long": lambda: serve_pair(text=tf.constant([long_text]), text_pair=tf.constant([long_text])),
    "pair_long_cut": lambda: serve_pair(
        text=tf.constant([" ".join(long_text.split()[:config["pair_cut"][0]])]),
        text_pair=tf.constant([" ".join(long_text.split()[:config["pair_cut"][1]])])),
    "pair_batches_differ": lambda: serve_pair(text=tf.constant(["a", "b"]), text_pair=tf.constant(["c"])),
}
report["hostile"] = {name: attempt(call) for name, call in hostile.items()}
# Rows of the batch of 1,000 against the same texts sent alone.
sample = list(range(0, 1000, 50))
alone = np.concatenate([ask([batch_1000[i]])["probabilities"] for i in sample])
in_batch = np.array(report["hostile"]["batch_of_1000"]["answer"]["probabilities"])[sample]
report["batch_of_1000_vs_alone_max_difference"] = float(np.max(np.abs(alone - in_batch)))

# === Multi-label and regression ===
report["problem_types"] = {}
for name in ("multi", "regression"):
    signatures = models[name].signatures
    ids = {key: tf.constant(value, tf.int32) for key, value in config["ids"].items()}
    report["problem_types"][name] = {
        "serving_default": jsonable(plain(signatures["serving_default"](text=tf.constant(config["texts"])))),
        "serve_ids": jsonable(plain(signatures["serve_ids"](**ids))),
        "hostile": jsonable(plain(signatures["serving_default"](
            text=tf.constant(["", long_text.encode(), invalid_utf8, punctuation.encode()])))),
    }
report["imported_at_end"] = imported_blocked()
print(json.dumps(report))
"""


def fine_tuned(pretrained_dir, num_classes, problem_type, targets, pairs=False, label_names=None):
    keras.utils.set_random_seed(0)
    loaded = load_backbone(pretrained_dir)
    classifier = TextClassifier(loaded.backbone, num_classes, preprocessor=TextPreprocessor(loaded.tokenizer, SEQ_LENGTH),
                                problem_type=problem_type, label_names=label_names)
    classifier.compile_for_task(learning_rate=2e-2, run_eagerly=True)  # 3 eager steps beat tracing a train step
    classifier.fit((TEXTS, PAIRS) if pairs else TEXTS, targets, epochs=3, batch_size=6, verbose=0)
    return classifier


def one_piece_words(tokenizer):
    """Words of the training texts that are one WordPiece each (not [UNK]): n of them make n pieces."""
    unknown = tokenizer.token_to_id("[UNK]")
    words = sorted({word for text in TEXTS for word in text.split()})
    pieces = tokenizer.tokenize_flat(words).to_list()
    return [word for word, ids in zip(words, pieces) if len(ids) == 1 and ids[0] != unknown]


@pytest.fixture(scope="module")
def served(bert_pretrained, tmp_path_factory):
    """(report of the fresh process, Keras classifiers, the config sent to it)."""
    directory = tmp_path_factory.mktemp("serving_under_load")
    pretrained_dir = bert_pretrained[0]
    classifiers = {
        "single": fine_tuned(pretrained_dir, 3, "single_label", [1, 0, 2, 1, 0, 2], label_names=["neg", "pos", "other"]),
        "pair": fine_tuned(pretrained_dir, 2, "single_label", [1, 0, 1, 1, 0, 0], pairs=True),
        "multi": fine_tuned(pretrained_dir, 3, "multi_label", [[1, 0, 1], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1], [0, 0, 0]],
                            label_names=["funny", "sad", "long"]),
        "regression": fine_tuned(pretrained_dir, 1, "regression", [[4.5], [1.0], [3.0], [4.0], [0.5], [2.5]]),
    }
    paths = {name: export_classifier_serving(classifier, str(directory / name), text_pairs=name == "pair")
             for name, classifier in classifiers.items()}
    preprocessor = classifiers["single"].preprocessor
    words = one_piece_words(preprocessor.tokenizer)
    assert len(words) >= 5, words
    # How round-robin truncation shares the pieces of an over-long pair (from the preprocessor itself).
    long = " ".join(words * SEQ_LENGTH)
    segments = preprocessor([long], [long])["segment_ids"].numpy()[0]
    pair_cut = [int((segments == 0).sum()) - 2, int((segments == 1).sum()) - 1]  # less [CLS], [SEP]; [SEP]
    packed = preprocessor(TEXTS)
    config = {
        "paths": paths, "words": words, "seq_length": SEQ_LENGTH, "pair_cut": pair_cut, "texts": TEXTS,
        "threads": THREADS, "requests_per_thread": REQUESTS_PER_THREAD,
        "ids": {name: packed[key].numpy().tolist() for name, key in SERVE_IDS_NAMES.items()},
    }
    config_path = directory / "config.json"
    config_path.write_text(json.dumps(config))
    report = last_json_line(run_outside_checkout(CHILD_SCRIPT, config_path, cwd=directory, timeout=600))
    return report, classifiers, config


def test_the_process_serves_without_keras_or_our_packages(served):
    report, _, _ = served
    assert report["imported_after_load"] == [] and report["imported_at_end"] == []


def test_concurrent_answers_equal_sequential_ones_and_memory_stays_flat(served):
    report, _, _ = served
    load = report["load"]
    print(json.dumps(load, indent=1))  # the figures, with pytest -s
    for round_ in load["rounds"]:
        assert round_["answered"] == THREADS * REQUESTS_PER_THREAD
        assert round_["mismatches"] == 0, round_
        assert round_["max_difference"] <= 1e-6
    assert load["rss_after_first_mb"] - load["rss_before_mb"] < MAX_RSS_GROWTH_MB, load
    assert load["rss_after_second_mb"] - load["rss_after_first_mb"] < MAX_SECOND_ROUND_GROWTH_MB, load


ANSWERED = ["empty", "long_text", "long_text_cut", "one_long_word", "invalid_utf8", "punctuation", "mixed_batch",
            "batch_of_0", "batch_of_1", "batch_of_1000", "pair_second_empty", "pair_first_empty", "pair_both_empty",
            "pair_long", "pair_long_cut"]
REFUSED = ["wrong_dtype", "ids_longer_than_positions", "garbage_example", "pair_batches_differ"]


def test_hostile_inputs_get_an_answer_of_the_right_shape_or_a_clear_error(served):
    report, classifiers, _ = served
    hostile = report["hostile"]
    assert sorted(hostile) == sorted(ANSWERED + REFUSED)
    rows = {"mixed_batch": 4, "batch_of_0": 0, "batch_of_1000": 1000}
    for case in ANSWERED:
        assert "answer" in hostile[case], (case, hostile[case])
        answer, shapes = hostile[case]["answer"], hostile[case]["shapes"]
        size = rows.get(case, 1)
        classes = classifiers["pair" if case.startswith("pair") else "single"].num_classes
        assert shapes == {"probabilities": [size, classes], "label": [size], "label_id": [size]}, case
        if size:
            np.testing.assert_allclose(np.sum(answer["probabilities"], -1), 1.0, atol=1e-5, err_msg=case)
    for case in REFUSED:
        assert hostile[case].get("error") == "InvalidArgumentError", (case, hostile[case])
    assert "text and text_pair must hold the same number of strings" in str(hostile["pair_batches_differ"])
    # Truncation: 100,000 characters answer as their first seq_length - 2 pieces (a pair: the round-robin cut).
    for long, cut in (("long_text", "long_text_cut"), ("pair_long", "pair_long_cut")):
        assert hostile[long]["answer"] == hostile[cut]["answer"], long
    assert report["batch_of_1000_vs_alone_max_difference"] < 1e-5


def test_multi_label_and_regression_outputs_match_keras(served):
    report, classifiers, config = served
    answers = report["problem_types"]

    multi = classifiers["multi"]
    probabilities = multi.probabilities(multi.predict(TEXTS, verbose=0)).numpy()
    mask = probabilities > 0.5
    assert mask.any() and not mask.all()  # the texts exercise both sides of the threshold
    labels = [",".join(name for name, on in zip(multi.label_names, row) if on) for row in mask]
    for signature in ("serving_default", "serve_ids"):
        answer = answers["multi"][signature]
        assert sorted(answer) == ["label_mask", "labels", "probabilities"]
        np.testing.assert_allclose(answer["probabilities"], probabilities, atol=1e-5, err_msg=signature)
        assert answer["label_mask"] == mask.astype(int).tolist(), signature
        assert answer["labels"] == labels, signature
    hostile = answers["multi"]["hostile"]
    assert np.shape(hostile["probabilities"]) == np.shape(hostile["label_mask"]) == (4, 3) and len(hostile["labels"]) == 4

    regression = classifiers["regression"]
    values = regression.predict(TEXTS, verbose=0)[:, 0]
    for signature in ("serving_default", "serve_ids"):
        answer = answers["regression"][signature]
        assert sorted(answer) == ["value"]
        np.testing.assert_allclose(answer["value"], values, atol=1e-5, err_msg=signature)  # [B]: one target
    assert np.shape(answers["regression"]["hostile"]["value"]) == (4,)
    with open(config["paths"]["multi"] + "/assets.extra/task.json", encoding="utf-8") as file:
        task = json.load(file)
    assert task["threshold"] == 0.5 and task["outputs"] == ["probabilities", "label_mask", "labels"]
