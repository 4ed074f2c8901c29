"""Our decoding loops and perplexity metric against keras-hub's, in one process.

Issue 19 asks to use keras-hub's samplers and perplexity metric where they do
what ours do, unless a measured reason says otherwise. This script measures it.

Decoding: a seeded random `layers.GptDecoder` (size `--size`, vocabulary
`--vocabulary-size`) continues the same prompts (`--batch-size` prompts of
`--prompt-length` random tokens, `--new-tokens` new tokens each) with

- ours: `tasks.gpt_generator.GptGenerator.generate_ids`, the path the GPT
  serving SavedModel traces (`tasks.generation` loops over the decoder's
  key/value cache), and
- keras-hub: `keras_hub.samplers.GreedySampler` / `BeamSampler` driven by a
  `next(prompt, cache, index)` that calls the same decoder's cached step
  (`GptDecoder.call_with_cache`) on the same prefilled cache,

both inside a `tf.function` with a serving-style input signature (batch
unknown), with no end token (every row decodes `--new-tokens` tokens on both
sides). It prints whether the greedy and the beam-search outputs are
token-for-token equal, the sequence scores of both best beams (rescored by the
decoder, so neither side's bookkeeping is trusted), and generated tokens/s of
each side with the ratio ours/keras-hub (median of `--repeats` timed calls
after a warm-up, the two sides called in turn). It also checks that seeded
top-k sampling gives the same text on two calls (ours is stateless, keras-hub's
samplers draw from a `SeedGenerator` variable), and that SavedModels whose
signatures trace each side's greedy and beam loops load and run in a fresh
process in which keras_hub, keras_nlp, keras and our packages cannot be
imported (as TF Serving or a tensorflow-only user loads them).

Perplexity: on one batch of the decoder, ours (`pretrain.objectives.perplexity.
Perplexity` fed the fused loss and the token count, as `GptPretrainer` does)
against `keras_hub.metrics.Perplexity` (fed labels, full logits and the mask);
then, at a realistic size (`--ppl-batch` x `--ppl-length`, vocabulary
`--ppl-vocabulary`, hidden `--ppl-hidden`; 32 x 128 x 30522 by default, whose
float32 logits take 500 MB), the peak memory (TensorFlow's CPU allocator
statistics) and median time of each route from the hidden states.

    .venv/bin/python benchmarks/generation.py                 # default run (~1-2 min on 2 cores)
    .venv/bin/python benchmarks/generation.py --size tiny --repeats 3 --parts decoding
    .venv/bin/python benchmarks/generation.py --parts perplexity --ppl-length 512   # logits 1.9 GB
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from layers import BACKBONE_SIZES, GptDecoder  # noqa: E402
from layers.tied_softmax_cross_entropy import tied_softmax_cross_entropy  # noqa: E402
from layers.token_embedding import TokenEmbedding  # noqa: E402
from pretrain.objectives.perplexity import Perplexity  # noqa: E402
from saved_models.saved_model_root import SavedModelRoot  # noqa: E402
from tasks.generation import GenerationConfig  # noqa: E402
from tasks.gpt_generator import GptGenerator  # noqa: E402

MB = 2**20
PARTS = ("decoding", "export", "perplexity")
BLOCKED_IN_CHILD = ("keras_hub", "keras_nlp", "keras", "layers", "pretrain", "tasks", "saved_models")
# The script that loads the SavedModels in that fresh process.
EXPORT_CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "generation_export_check.py")


def parse_arguments(argv=None):
    """The options from `argv` (the command line by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="mini", choices=sorted(BACKBONE_SIZES), help="GptDecoder size")
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--batch-size", type=int, default=8, help="prompts per call")
    parser.add_argument("--prompt-length", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--num-beams", type=int, default=4)
    parser.add_argument("--top-k", type=int, default=10, help="for the sampling reproducibility check")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per side (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls per side after tracing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS,
                        help="what to run: the decoding comparison, the SavedModel check (needs decoding), "
                             "the perplexity comparison")
    parser.add_argument("--ppl-batch", type=int, default=32)
    parser.add_argument("--ppl-length", type=int, default=128)
    parser.add_argument("--ppl-vocabulary", type=int, default=30522)
    parser.add_argument("--ppl-hidden", type=int, default=256)
    parser.add_argument("--ppl-repeats", type=int, default=3)
    return parser.parse_args(argv)


def yes_no(flag):
    return "yes" if flag else "no"


# === Decoding ===


class _NoEndToken:
    """A stand-in tokenizer for `GptGenerator`: no `[SEP]`, so every row decodes to the end of the buffer."""

    def token_to_id(self, token):
        return None


def build_decoding(args):
    """The decoder, the prompts and the six traced decoding functions (ours / keras-hub x greedy / beam / top-k)."""
    keras.utils.set_random_seed(args.seed)
    length = args.prompt_length + args.new_tokens
    decoder = GptDecoder.from_size(args.size, vocabulary_size=args.vocabulary_size, max_sequence_length=length)
    rng = np.random.default_rng(args.seed)
    tokens = np.zeros((args.batch_size, length), "int32")
    tokens[:, : args.prompt_length] = rng.integers(5, args.vocabulary_size, (args.batch_size, args.prompt_length))
    prompt_mask = np.zeros((args.batch_size, length), bool)
    prompt_mask[:, : args.prompt_length] = True

    def ours(strategy, **options):
        config = GenerationConfig(strategy=strategy, max_length=length, length_penalty=0.0, **options)
        return GptGenerator(decoder, _NoEndToken(), config).generate_ids

    def prefill(tokens):  # the same prefill as GptGenerator._prefill
        cache = decoder.init_cache(tf.shape(tokens)[0], length)
        _, _, cache = decoder.call_with_cache(tokens, cache, 0)
        return cache

    def keras_hub_next(prompt, cache, index):  # keras-hub's next(): (logits, hidden_states, cache)
        logits, hidden_states, cache = decoder.call_with_cache(prompt[:, index - 1 : index], cache, index - 1)
        return logits[:, 0, :], hidden_states[:, 0, :], cache

    def theirs(sampler):
        def run(tokens, prompt_mask):
            start = tf.reduce_min(tf.reduce_sum(tf.cast(prompt_mask, tf.int32), axis=1))  # as GPT2CausalLM
            return sampler(keras_hub_next, tokens, cache=prefill(tokens), index=start, mask=prompt_mask)

        return run

    signature = [tf.TensorSpec([None, length], tf.int32, name="token_ids"),
                 tf.TensorSpec([None, length], tf.bool, name="prompt_mask")]
    functions = {
        ("greedy", "ours"): ours("greedy"),
        ("greedy", "keras-hub"): theirs(keras_hub.samplers.GreedySampler()),
        ("beam", "ours"): ours("beam", num_beams=args.num_beams),
        ("beam", "keras-hub"): theirs(keras_hub.samplers.BeamSampler(num_beams=args.num_beams)),
        ("sample", "ours"): ours("sample", top_k=args.top_k, seed=args.seed + 1),
        ("sample", "keras-hub"): theirs(keras_hub.samplers.TopKSampler(k=args.top_k, seed=args.seed + 1)),
    }
    traced = {key: tf.function(function, input_signature=signature) for key, function in functions.items()}
    return decoder, tokens, prompt_mask, traced, signature


def sequence_scores(decoder, tokens, prompt_length):
    """Sum of log p(token) over each row's generated tokens, from a full (cache-less) forward pass."""
    hidden = decoder({"token_ids": tokens, "padding_mask": np.ones_like(tokens)}, training=False)
    log_probs = tf.nn.log_softmax(tf.cast(decoder.logits(hidden), tf.float32), axis=-1)[:, :-1]
    picked = tf.gather(log_probs, tokens[:, 1:], batch_dims=2)  # log p(token t | tokens < t)
    return tf.reduce_sum(picked[:, prompt_length - 1 :], axis=1).numpy()


def median_seconds(functions, inputs, repeats, warmup):
    """{key: median wall seconds of one call}; the functions are called in turn, so load hits them alike."""
    for function in functions.values():
        for _ in range(warmup):
            function(*inputs).numpy()
    times = {key: [] for key in functions}
    for _ in range(repeats):
        for key, function in functions.items():
            start = time.perf_counter()
            function(*inputs).numpy()
            times[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def compare_decoding(args, decoder, tokens, prompt_mask, traced):
    """Prints the equality verdicts, scores and tokens/s lines; returns the outputs for the export check."""
    outputs = {}
    start = time.perf_counter()
    for key, function in traced.items():
        outputs[key] = function(tokens, prompt_mask).numpy()
    print(f"tracing and first call of the six decoding functions: {time.perf_counter() - start:.1f} s")
    generated = slice(args.prompt_length, None)
    num_generated = args.batch_size * args.new_tokens
    for strategy, label in (("greedy", "greedy"), ("beam", f"beam ({args.num_beams} beams, no length penalty)")):
        ours, theirs = outputs[(strategy, "ours")], outputs[(strategy, "keras-hub")]
        same = int(np.sum(ours[:, generated] == theirs[:, generated]))
        prompts_kept = bool(np.all(ours[:, : args.prompt_length] == tokens[:, : args.prompt_length])
                            and np.all(theirs[:, : args.prompt_length] == tokens[:, : args.prompt_length]))
        print(f"{label}: outputs token-for-token equal: {yes_no(np.array_equal(ours, theirs))} "
              f"({same}/{num_generated} generated tokens equal, "
              f"{sum(np.array_equal(a, b) for a, b in zip(ours, theirs))}/{args.batch_size} rows; "
              f"prompts kept: {yes_no(prompts_kept)})")
        if strategy == "beam":
            our_scores = sequence_scores(decoder, ours, args.prompt_length)
            their_scores = sequence_scores(decoder, theirs, args.prompt_length)
            greedy_scores = sequence_scores(decoder, outputs[("greedy", "ours")], args.prompt_length)
            print(f"beam sequence scores (sum of log p over the generated tokens, rescored by the decoder, "
                  f"mean over prompts): ours {our_scores.mean():.4f}, keras-hub {their_scores.mean():.4f}, "
                  f"max |ours - keras-hub| {np.max(np.abs(our_scores - their_scores)):.2e}; "
                  f"greedy {greedy_scores.mean():.4f}")
    sample_again = {side: traced[("sample", side)](tokens, prompt_mask).numpy() for side in ("ours", "keras-hub")}
    print(f"sampling (top-k {args.top_k}, seeded), a second call gives the same text: "
          f"ours {yes_no(np.array_equal(sample_again['ours'], outputs[('sample', 'ours')]))}, "
          f"keras-hub {yes_no(np.array_equal(sample_again['keras-hub'], outputs[('sample', 'keras-hub')]))}")
    for strategy in ("greedy", "beam"):
        timed = {side: traced[(strategy, side)] for side in ("ours", "keras-hub")}
        seconds = median_seconds(timed, (tokens, prompt_mask), args.repeats, args.warmup)
        rates = {side: num_generated / seconds[side] for side in seconds}
        print(f"{strategy} generated tokens/s (median of {args.repeats}): ours {rates['ours']:,.1f}, "
              f"keras-hub {rates['keras-hub']:,.1f}, ratio ours/keras-hub = {rates['ours'] / rates['keras-hub']:.3f}")
    time_cache_reorder(args, decoder)
    return outputs


def time_cache_reorder(args, decoder):
    """One beam step's reordering of the key/value cache: keras-hub's `gather_beams` (copied from
    `BeamSampler.__call__`: `take_along_axis` on the [batch, beams, ...] cache) against ours (`tf.gather` of rows)."""
    beams, length = args.num_beams, args.prompt_length + args.new_tokens
    cache = tf.random.normal(decoder.init_cache(args.batch_size * beams, length).shape)
    beam_indices = tf.random.stateless_uniform([args.batch_size, beams], [args.seed, 4], maxval=beams, dtype=tf.int32)

    @tf.function
    def keras_hubs(x, beam_indices):
        x = keras.ops.reshape(x, (-1, beams) + keras.ops.shape(x)[1:])
        indices = beam_indices
        for axis in range(2, len(x.shape)):
            indices = keras.ops.expand_dims(indices, axis=axis)
        x = keras.ops.take_along_axis(x, indices, axis=1)
        return keras.ops.reshape(x, (-1,) + keras.ops.shape(x)[2:])

    @tf.function
    def ours(x, beam_indices):  # as tasks.generation.beam_search
        source_rows = tf.reshape(beam_indices + tf.range(tf.shape(beam_indices)[0])[:, None] * beams, [-1])
        return tf.gather(x, source_rows)

    assert np.array_equal(keras_hubs(cache, beam_indices).numpy(), ours(cache, beam_indices).numpy())
    seconds = median_seconds({"ours": ours, "keras-hub": keras_hubs}, (cache, beam_indices), 10, 1)
    print(f"beam step's cache reorder ({'x'.join(map(str, cache.shape))} float32, median of 10): "
          f"keras-hub's take_along_axis {seconds['keras-hub'] * 1e3:.2f} ms, ours' gather {seconds['ours'] * 1e3:.2f} "
          f"ms; x {args.new_tokens} steps: {args.new_tokens * seconds['keras-hub']:.2f} s vs "
          f"{args.new_tokens * seconds['ours']:.2f} s")


def _named_output(function):
    def run(token_ids, prompt_mask):
        return {"token_ids": function(token_ids, prompt_mask)}

    return run


def check_export(args, traced, signature, decoder, tokens, prompt_mask, outputs):
    """Saves one SavedModel per side (greedy and beam signatures) and loads both in a fresh, guarded process."""
    with tempfile.TemporaryDirectory() as directory:
        paths = {}
        start = time.perf_counter()
        for side in ("ours", "keras-hub"):
            root = SavedModelRoot()
            root.variables = [variable.value for variable in decoder.variables]
            signatures = {}
            for strategy in ("greedy", "beam"):
                function = _named_output(traced[(strategy, side)].python_function)
                wrapped = tf.function(function, input_signature=signature)
                setattr(root, strategy, wrapped)
                signatures[strategy] = wrapped
            paths[side] = os.path.join(directory, side)
            tf.saved_model.save(root, paths[side], signatures=signatures)
        save_seconds = time.perf_counter() - start
        expected_path = os.path.join(directory, "expected.npz")
        np.savez(expected_path, token_ids=tokens, prompt_mask=prompt_mask,
                 **{f"{side}_{strategy}": outputs[(strategy, side)]
                    for side in ("ours", "keras-hub") for strategy in ("greedy", "beam")})
        environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        command = [sys.executable, EXPORT_CHECK, ",".join(BLOCKED_IN_CHILD), expected_path, json.dumps(paths)]
        start = time.perf_counter()
        result = subprocess.run(command, cwd=directory, env=environment, capture_output=True, text=True, timeout=600)
        load_seconds = time.perf_counter() - start
    if result.returncode != 0:
        print(f"SavedModel check: the fresh process failed: {result.stderr[-2000:]}")
        return
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"SavedModels saved in {save_seconds:.1f} s; fresh process with {', '.join(BLOCKED_IN_CHILD)} made "
          f"unimportable (import keras_hub there succeeds: {yes_no(report['keras_hub_importable'])}) ran in "
          f"{load_seconds:.1f} s; of them imported there: {', '.join(report['imported']) or 'none'}")
    for side in ("ours", "keras-hub"):
        entry = report[side]
        if entry["loaded"]:
            verdict = (f"loads and runs: yes, greedy output equal: {yes_no(entry['greedy'])}, "
                       f"beam output equal: {yes_no(entry['beam'])}")
        else:
            verdict = f"loads and runs: no ({entry['error']})"
        print(f"SavedModel tracing {side} greedy and beam loops, in that process: {verdict}; "
              f"ops unknown to TensorFlow: {', '.join(entry['unknown_ops']) or 'none'}")


# === Perplexity ===


def compare_perplexity_values(args, decoder):
    """Both metrics on one batch of random token sequences through the decoder: the next-token loss."""
    length = args.prompt_length + args.new_tokens
    tokens = np.random.default_rng(args.seed + 2).integers(5, args.vocabulary_size, (args.batch_size, length))
    tokens = tokens.astype("int32")
    hidden = decoder({"token_ids": tokens, "padding_mask": np.ones_like(tokens)}, training=False)[:, :-1]
    labels = tokens[:, 1:]
    weights = np.ones(labels.shape, "float32")
    weights[::2, -3:] = 0.0  # the last positions of every other row weigh nothing, as padding would
    ours = Perplexity()
    loss = decoder.language_model_loss(hidden, labels, weights)  # the fused loss, as GptPretrainer
    ours.update_state(loss, sample_weight=np.sum(weights))
    theirs = keras_hub.metrics.Perplexity(from_logits=True)
    theirs.update_state(labels, decoder.logits(hidden), sample_weight=weights)
    a, b = float(ours.result()), float(theirs.result())
    print(f"perplexity on one batch ({int(np.sum(weights))} weighted tokens): ours {a:.6f}, keras-hub {b:.6f}, "
          f"relative difference {abs(a - b) / b:.2e}")


def peak_and_median(function, inputs, reset, repeats):
    """(extra peak bytes of TensorFlow's CPU allocator over the inputs, median seconds) after one warm-up call."""
    reset()
    function(*inputs).numpy()  # traces
    before = tf.config.experimental.get_memory_info("CPU:0")["current"]
    tf.config.experimental.reset_memory_stats("CPU:0")
    times = []
    for _ in range(max(1, repeats)):
        reset()
        start = time.perf_counter()
        value = float(function(*inputs).numpy())
        times.append(time.perf_counter() - start)
    peak = tf.config.experimental.get_memory_info("CPU:0")["peak"] - before
    return peak, statistics.median(times), value


def compare_perplexity_cost(args):
    """Peak memory and time of each route from hidden states to the perplexity, at a realistic size."""
    keras.utils.set_random_seed(args.seed)
    batch, length, vocabulary, hidden_dim = args.ppl_batch, args.ppl_length, args.ppl_vocabulary, args.ppl_hidden
    embedding = TokenEmbedding(vocabulary, hidden_dim, embeddings_initializer=keras.initializers.TruncatedNormal(
        stddev=0.02, seed=args.seed))
    embedding.build((None, None))
    hidden = tf.random.stateless_normal([batch, length, hidden_dim], seed=[args.seed, 1])
    labels = tf.random.stateless_uniform([batch, length], seed=[args.seed, 2], maxval=vocabulary, dtype=tf.int32)
    weights = tf.cast(tf.random.stateless_uniform([batch, length], seed=[args.seed, 3]) < 0.9, tf.float32)
    ours, theirs = Perplexity(), keras_hub.metrics.Perplexity(from_logits=True)

    @tf.function
    def keras_hub_route(hidden, labels, weights):
        logits = embedding(hidden, reverse=True)  # GptDecoder.logits: [batch, length, vocabulary]
        theirs.update_state(labels, logits, sample_weight=weights)
        return theirs.result()

    @tf.function
    def our_route(hidden, labels, weights):
        loss = tied_softmax_cross_entropy(hidden, embedding.embeddings, labels, weights)
        ours.update_state(loss, sample_weight=tf.reduce_sum(weights))
        return ours.result()

    loss = tied_softmax_cross_entropy(hidden, embedding.embeddings, labels, weights)

    @tf.function
    def our_metric_only(loss, weights):  # what a training step adds: its loss is computed anyway
        ours.update_state(loss, sample_weight=tf.reduce_sum(weights))
        return ours.result()

    inputs = (hidden, labels, weights)
    hub_peak, hub_seconds, hub_value = peak_and_median(keras_hub_route, inputs, theirs.reset_state, args.ppl_repeats)
    our_peak, our_seconds, our_value = peak_and_median(our_route, inputs, ours.reset_state, args.ppl_repeats)
    metric_peak, metric_seconds, _ = peak_and_median(our_metric_only, (loss, weights), ours.reset_state,
                                                     args.ppl_repeats)
    logits_mb = batch * length * vocabulary * 4 / MB
    print(f"perplexity cost at batch {batch} x {length}, vocabulary {vocabulary}, hidden {hidden_dim} "
          f"(float32 logits {logits_mb:,.0f} MB; median of {args.ppl_repeats}): "
          f"keras-hub from full logits: peak {hub_peak / MB:,.0f} MB, {hub_seconds:.3f} s; "
          f"ours, fused loss + metric: peak {our_peak / MB:,.0f} MB, {our_seconds:.3f} s; "
          f"ours given the training step's loss: peak {metric_peak / MB:,.2f} MB, {metric_seconds * 1e3:.2f} ms; "
          f"values {our_value:.4f} vs {hub_value:.4f} "
          f"(relative difference {abs(our_value - hub_value) / hub_value:.2e})")


def main(argv=None):
    args = parse_arguments(argv)
    started = time.perf_counter()
    size = BACKBONE_SIZES[args.size]
    print(f"model: random GptDecoder {args.size!r} ({size['num_layers']} layers, hidden {size['hidden_dim']}), "
          f"vocabulary {args.vocabulary_size}, seed {args.seed}; {args.batch_size} prompts x {args.prompt_length} "
          f"tokens + {args.new_tokens} new tokens; keras-hub {keras_hub.__version__}, TensorFlow {tf.__version__}")
    print("keras-hub's next(): our decoder's cached step (GptDecoder.call_with_cache) on the same prefilled "
          "key/value cache as ours; both inside tf.function, no end token")
    decoder, tokens, prompt_mask, traced, signature = build_decoding(args)
    if "decoding" in args.parts or "export" in args.parts:
        outputs = compare_decoding(args, decoder, tokens, prompt_mask, traced)
    if "export" in args.parts:
        check_export(args, traced, signature, decoder, tokens, prompt_mask, outputs)
    if "perplexity" in args.parts:
        compare_perplexity_values(args, decoder)
        compare_perplexity_cost(args)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
