"""The fused word2vec op: word2vec's per-word SGD step for step against numpy; its build."""

import bisect
import shutil
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from pretrain.embeddings import word2vec_kernel

needs_compiler = pytest.mark.skipif(shutil.which("g++") is None, reason="the op is built with g++")
LCG_MASK = (1 << 48) - 1


@pytest.fixture(scope="module")
def kernels():
    loaded = word2vec_kernel.load_word2vec_kernel()
    assert loaded is not None, "the fused word2vec kernel did not build (see the warning above)"
    return loaded


class Lcg:
    """word2vec.c's generator, seeded as the op seeds slice 0."""

    def __init__(self, seed):
        self.state = ((seed % 2**64) * 0x9E3779B97F4A7C15 + 1) & LCG_MASK

    def next(self):
        self.state = (self.state * 25214903917 + 11) & LCG_MASK
        return self.state


def table_sigmoid(f):
    """word2vec's EXP_TABLE lookup, in float32 as the op computes it."""
    index = int(np.float32(f + np.float32(6)) * np.float32(1000 / 6 / 2))
    e = np.exp(np.float32((index / np.float32(1000) * 2 - 1) * 6), dtype=np.float32)
    return np.float32(e / (e + 1))


def reference_step(inputs, outputs, tokens, documents, valid, cumulative, rate, seed, window, negative, skipgram):
    """word2vec/gensim's sequential update of one batch, in numpy; returns the number of trained pairs."""
    rng, pairs = Lcg(seed), 0

    def train(target, hidden):
        error = np.zeros_like(hidden)
        for draw in range(negative + 1):
            word, label = target, 1.0
            if draw:
                word = bisect.bisect_right(cumulative, ((rng.next() >> 16) * int(cumulative[-1])) >> 32)
                if word == target:
                    continue
                label = 0.0
            f = hidden @ outputs[word]
            if abs(f) >= 6:
                continue
            g = np.float32((label - table_sigmoid(f)) * rate)
            error += g * outputs[word]
            outputs[word] += g * hidden
        return error

    for i in range(len(tokens)):
        if not valid[i]:
            continue
        reach = window - rng.next() % window
        context = [j for j in range(max(0, i - reach), min(len(tokens), i + reach + 1))
                   if j != i and valid[j] and documents[j] == documents[i]]
        if skipgram:
            for j in context:
                inputs[tokens[j]] += train(tokens[i], inputs[tokens[j]].copy())
                pairs += 1
        elif context:
            error = train(tokens[i], inputs[tokens[context]].mean(axis=0))
            for j in context:
                inputs[tokens[j]] += error
            pairs += 1
    return pairs


def run_op(kernels, inputs, outputs, tokens, documents, valid, cumulative, rate, seed, window, negative, skipgram):
    input_table, output_table = tf.Variable(inputs), tf.Variable(outputs)
    loss, pairs = kernels.word2vec_train_batch(
        input_table.handle, output_table.handle, tokens, documents, valid, np.asarray(cumulative, np.int64),
        np.float32(rate), np.int64(seed), window=window, negative=negative, skipgram=skipgram, num_slices=1)
    return input_table.numpy(), output_table.numpy(), float(loss), float(pairs)


@needs_compiler
@pytest.mark.parametrize("skipgram", [True, False])
def test_op_update_equals_word2vec_reference(kernels, skipgram):
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(7, 6)).astype(np.float32) * 0.5
    outputs = rng.normal(size=(7, 6)).astype(np.float32) * 0.5
    tokens = rng.integers(0, 7, 14).astype(np.int32)
    documents = np.repeat([0, 1], 7).astype(np.int32)
    valid = np.arange(14) != 4
    cumulative = np.cumsum([5, 1, 3, 8, 2, 2, 4])  # uneven unigram weights
    arguments = (tokens, documents, valid, cumulative, 0.2, 11, 3, 4, skipgram)
    new_inputs, new_outputs, loss, pairs = run_op(kernels, inputs, outputs, *arguments)
    expected_pairs = reference_step(inputs, outputs, *arguments)
    assert pairs == expected_pairs
    assert loss > 0
    np.testing.assert_allclose(new_inputs, inputs, atol=1e-5)
    np.testing.assert_allclose(new_outputs, outputs, atol=1e-5)


@needs_compiler
@pytest.mark.parametrize("skipgram", [True, False])
def test_op_negative_draws_equal_a_binary_search_over_a_large_uneven_vocabulary(kernels, skipgram):
    # 3,000 words, Zipf-like weights with runs of zero weight: the op's bucketed search must pick
    # exactly the word a binary search picks for every draw, or the tables drift from the reference.
    rng = np.random.default_rng(2)
    words = 3000
    weights = np.floor(1e6 / np.arange(1, words + 1) ** 0.9 * rng.random(words)).astype(np.int64)
    weights[rng.random(words) < 0.2] = 0
    weights[0] = max(weights[0], 1)
    cumulative = np.cumsum(weights)
    inputs = rng.normal(size=(words, 8)).astype(np.float32) * 0.3
    outputs = rng.normal(size=(words, 8)).astype(np.float32) * 0.3
    tokens = rng.integers(0, words, 60).astype(np.int32)
    arguments = (tokens, np.zeros(60, np.int32), np.ones(60, bool), cumulative, 0.1, 3, 2, 5, skipgram)
    new_inputs, new_outputs, _, pairs = run_op(kernels, inputs, outputs, *arguments)
    assert pairs == reference_step(inputs, outputs, *arguments)
    np.testing.assert_allclose(new_inputs, inputs, atol=1e-5)
    np.testing.assert_allclose(new_outputs, outputs, atol=1e-5)


@needs_compiler
def test_one_pair_update_is_the_closed_form(kernels):
    # Centre 0, context 1 (and the reverse pair), every negative draw is word 2: SGD on
    # log s(h.o_target) + k log s(-h.o_2), up to word2vec's sigmoid table (step 0.012).
    rng = np.random.default_rng(1)
    inputs, outputs = rng.normal(size=(2, 3, 4)).astype(np.float32) * 0.5
    new_inputs, new_outputs, _, pairs = run_op(
        kernels, inputs, outputs, np.array([0, 1], np.int32), np.zeros(2, np.int32), np.ones(2, bool),
        [0, 0, 1], 0.1, 5, 1, 2, True)
    assert pairs == 2

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    h, o0, o2 = inputs[1], outputs[0].copy(), outputs[2].copy()
    g_target = 0.1 * (1 - sigmoid(h @ o0))
    g_negative = [0.1 * -sigmoid(h @ o2)]
    o2 = o2 + g_negative[0] * h
    g_negative.append(0.1 * -sigmoid(h @ o2))
    expected_input_1 = h + g_target * o0 + g_negative[0] * outputs[2] + g_negative[1] * o2
    np.testing.assert_allclose(new_inputs[1], expected_input_1, atol=2e-3)
    assert np.abs(new_inputs[2] - inputs[2]).max() == 0  # never a context: untouched


@needs_compiler
def test_op_rejects_tokens_outside_the_tables(kernels):
    table = tf.Variable(tf.zeros((3, 2)))
    other = tf.Variable(tf.zeros((3, 2)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="tokens"):
        kernels.word2vec_train_batch(table.handle, other.handle, [0, 3], [0, 0], [True, True],
                                     np.array([1, 2, 3], np.int64), 0.1, np.int64(1), window=1, negative=1,
                                     skipgram=True)


@needs_compiler
def test_compiler_error_is_reported_and_nothing_is_cached(tmp_path, monkeypatch):
    source = tmp_path / "broken.cc"
    source.write_text("this is not C++\n")
    monkeypatch.setattr(word2vec_kernel, "SOURCE", str(source))
    monkeypatch.setenv(word2vec_kernel.CACHE_ENVIRONMENT_VARIABLE, str(tmp_path / "cache"))
    with pytest.raises(word2vec_kernel.KernelBuildError, match="error"):
        word2vec_kernel.built_library()
    assert not [name for name in (tmp_path / "cache").iterdir() if name.suffix == ".so"]


@needs_compiler
def test_a_read_value_sharing_the_table_is_not_written(kernels):
    # Copy on write: a value read before the call keeps its numbers; the variable gets a private copy.
    table = tf.Variable(np.full((4, 8), 0.5, np.float32))
    outputs = tf.Variable(np.zeros((4, 8), np.float32))
    before = table.value()  # shares the variable's buffer until the op copies it
    expected = before.numpy().copy()
    for _ in range(2):  # the second call finds the private copy and trains in place
        kernels.word2vec_train_batch(table.handle, outputs.handle, [0, 1, 2, 3], [0, 0, 0, 0], [True] * 4,
                                     np.array([1, 2, 3, 4], np.int64), 0.1, np.int64(1), window=2, negative=2,
                                     skipgram=True, num_slices=1)
    np.testing.assert_array_equal(before.numpy(), expected)
    assert np.abs(table.numpy() - expected).max() > 0 and np.abs(outputs.numpy()).max() > 0


@needs_compiler
def test_concurrent_calls_overlap(kernels):
    # A short call on the same tables finishes while a long one runs: the calls take no exclusive lock
    # (before, each took both tables' exclusive locks briefly, so the short call waited for the long one).
    rng = np.random.default_rng(0)
    inputs = tf.Variable(rng.normal(size=(500, 100)).astype(np.float32) * 0.01)
    outputs = tf.Variable(np.zeros((500, 100), np.float32))
    cumulative = np.arange(1, 501, dtype=np.int64) * 1000

    def call(tokens):
        return kernels.word2vec_train_batch(
            inputs.handle, outputs.handle, tokens, np.zeros(len(tokens), np.int32), np.ones(len(tokens), bool),
            cumulative, 0.01, np.int64(1), window=10, negative=10, skipgram=True, num_slices=1)

    long_tokens = rng.integers(0, 500, 400_000).astype(np.int32)  # ~1-3 s on one thread
    ends = {}

    def timed_call(name, tokens):
        call(tokens)
        ends[name] = time.perf_counter()

    start = time.perf_counter()
    long_call = threading.Thread(target=timed_call, args=("long", long_tokens))
    long_call.start()
    time.sleep(0.2)
    timed_call("short", long_tokens[:100])
    long_call.join()
    long_seconds, short_end = ends["long"] - start, ends["short"] - start
    assert short_end < 0.75 * long_seconds, f"short call ended at {short_end:.2f} s, long call at {long_seconds:.2f} s"
