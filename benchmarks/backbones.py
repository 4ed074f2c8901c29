"""Training-step throughput of our BERT and GPT backbones against keras-hub's, in one process.

Both sides train the same configuration (BERT-mini sizes by default: 4 layers,
hidden 256, 4 heads, intermediate 1024; sequence 128, batch 32, vocabulary
30522) on the same synthetic batch with AdamW and sparse cross-entropy:

- BERT: masked-LM loss at 20 positions per sequence (BertEncoder computed at
  the masked positions by `call_at_positions` + MaskedLMHead's fused
  `masked_lm_loss` vs keras-hub BertBackbone + MaskedLMHead + sparse
  cross-entropy, both tied).
- GPT: full causal-LM loss over the vocabulary (GptDecoder with its fused
  tied-softmax loss `language_model_loss` vs keras-hub GPT2Backbone + reverse
  embedding + sparse cross-entropy).

Each model is compiled with and without XLA (`jit_compile`); all variants of
one model are stepped round-robin (so load from other processes hits them
alike) and each side keeps its faster setting by median wall time for the wall
ratio, and by median CPU time for the CPU-time ratio. The script prints
sequences/s, CPU-seconds per step (a load-robust measure of work), one
`ratio` line per model, and the model FLOP utilisation against a matmul (in the
compute dtype of `--dtype-policy`, float32 by default)
measured in the same run, in wall time and in CPU time (FLOP per CPU-second,
the figure that other processes' load distorts least).

It also times the matmul-only floor of our step: the forward matmuls of our
model at their exact shapes (the last BERT block at [CLS] and the masked
positions only, the GPT loss in 1024-row chunks) and their two gradient
matmuls each, with nothing else. keras-hub's CPU time over that floor is the
largest ratio any implementation of our step could reach on this machine with
the same FLOPs; the line also says how much CPU time the target ratio leaves
for all non-matmul work (LayerNorm, GELU, softmax, dropout, AdamW, embeddings)
and how much ours spends on it.

    .venv/bin/python benchmarks/backbones.py            # full run
    .venv/bin/python benchmarks/backbones.py --steps 2 --models gpt
    .venv/bin/python benchmarks/backbones.py --dtype-policy mixed_bfloat16
"""

import argparse
import functools
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from layers import BertEncoder, GptDecoder, MaskedLMHead  # noqa: E402

TARGETS = {"bert": 1.5, "gpt": 1.25}  # the ratios ours/keras-hub
FLOOR = ("matmuls only", "off")


def parse_arguments(argv=None):
    """The options from `argv` (the command line by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["bert", "gpt"], choices=["bert", "gpt"])
    parser.add_argument("--steps", type=int, default=4, help="timed training steps per setting (median reported)")
    parser.add_argument("--warmup-steps", type=int, default=2, help="untimed steps (tracing, XLA compile)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--vocabulary-size", type=int, default=30522)
    parser.add_argument("--masked-positions", type=int, default=20)
    parser.add_argument("--num-layers", type=int, default=4)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--intermediate-dim", type=int, default=1024)
    parser.add_argument("--jit", nargs="+", default=["off", "on"], choices=["off", "on"])
    parser.add_argument(
        "--dtype-policy",
        default="float32",
        choices=["float32", "mixed_bfloat16"],
        help="Keras dtype policy of both sides' models (the fused losses compute in float32 either way)",
    )
    return parser.parse_args(argv)


def backbone_arguments(args):
    return dict(
        vocabulary_size=args.vocabulary_size,
        num_layers=args.num_layers,
        num_heads=args.num_heads,
        hidden_dim=args.hidden_dim,
        intermediate_dim=args.intermediate_dim,
        max_sequence_length=max(512, args.sequence_length),
        dropout=0.1,
    )


def bert_batch(args, rng):
    shape = (args.batch_size, args.sequence_length)
    positions = np.stack(
        [np.sort(rng.choice(args.sequence_length, args.masked_positions, replace=False)) for _ in range(args.batch_size)]
    ).astype("int32")
    inputs = {
        "token_ids": rng.integers(5, args.vocabulary_size, shape).astype("int32"),
        "segment_ids": (np.arange(args.sequence_length) >= args.sequence_length // 2).astype("int32")[None].repeat(args.batch_size, 0),
        "padding_mask": np.ones(shape, "int32"),
        "mask_positions": positions,
    }
    labels = rng.integers(5, args.vocabulary_size, positions.shape).astype("int32")
    return inputs, labels, np.ones(positions.shape, "float32")


def gpt_batch(args, rng):
    shape = (args.batch_size, args.sequence_length)
    inputs = {
        "token_ids": rng.integers(5, args.vocabulary_size, shape).astype("int32"),
        "padding_mask": np.ones(shape, "int32"),
    }
    labels = rng.integers(5, args.vocabulary_size, shape).astype("int32")
    return inputs, labels, None


class BertMaskedLanguageModel(keras.Model):
    """`BertEncoder` at the masked positions trained on `MaskedLMHead.masked_lm_loss` (fused, no logits)."""

    def __init__(self, encoder, head, **kwargs):
        inputs = dict(encoder.input)
        inputs["mask_positions"] = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
        encoder_inputs = {name: inputs[name] for name in ("token_ids", "segment_ids", "padding_mask")}
        masked_sequence = encoder.call_at_positions(encoder_inputs, inputs["mask_positions"])["sequence_output"]
        super().__init__(inputs=inputs, outputs=masked_sequence, **kwargs)
        head.build(masked_sequence.shape)
        self.head = head

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return self.head.masked_lm_loss(y_pred, y, sample_weight)


def our_bert(args):
    encoder = BertEncoder(**backbone_arguments(args))
    return BertMaskedLanguageModel(encoder, MaskedLMHead(token_embedding=encoder.token_embedding, name="mlm_head"))


def keras_hub_bert(args):
    backbone = keras_hub.models.BertBackbone(**backbone_arguments(args))
    head = keras_hub.layers.MaskedLMHead(
        token_embedding=backbone.token_embedding,
        intermediate_activation="gelu",
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        name="mlm_head",
    )
    inputs = dict(backbone.input)
    inputs["mask_positions"] = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
    sequence = backbone({name: inputs[name] for name in ("token_ids", "segment_ids", "padding_mask")})["sequence_output"]
    return keras.Model(inputs, head(sequence, mask_positions=inputs["mask_positions"]))


class GptLanguageModel(keras.Model):
    """`GptDecoder` trained on its fused tied-softmax loss, the way a pretrainer's `compute_loss` uses it."""

    def __init__(self, decoder, **kwargs):
        super().__init__(inputs=decoder.input, outputs=decoder(decoder.input), **kwargs)
        self.decoder = decoder

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return self.decoder.language_model_loss(y_pred, y, sample_weight)


def our_gpt(args):
    return GptLanguageModel(GptDecoder(**backbone_arguments(args)))


def keras_hub_gpt(args):
    backbone = keras_hub.models.GPT2Backbone(**backbone_arguments(args))
    return keras.Model(backbone.input, backbone.token_embedding(backbone(backbone.input), reverse=True))


def compiled_model(build_model, batch, jit_compile, warmup_steps):
    """A model compiled with AdamW and sparse cross-entropy, traced (and XLA-compiled) by warm-up steps."""
    keras.utils.set_random_seed(0)
    model = build_model()
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=1e-4, weight_decay=0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    inputs, labels, weights = batch
    for _ in range(warmup_steps):
        model.train_on_batch(inputs, labels, sample_weight=weights)
    return model


def train_step(model, batch):
    """`model.train_on_batch` on `batch` as a step without arguments, for `time_round_robin`."""
    inputs, labels, weights = batch
    return functools.partial(model.train_on_batch, inputs, labels, sample_weight=weights)


def time_round_robin(train_steps, steps):
    """Median wall and CPU seconds per step of each `name: step()`, interleaved so machine load hits all alike."""
    wall = {name: [] for name in train_steps}
    cpu = {name: [] for name in train_steps}
    for _ in range(steps):
        for name, step in train_steps.items():
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            loss = step()
            wall[name].append(time.perf_counter() - wall_start)
            cpu[name].append(time.process_time() - cpu_start)
            if not np.isfinite(loss):
                raise RuntimeError(f"{name}: non-finite loss {loss}")
    return {name: (float(np.median(wall[name])), float(np.median(cpu[name]))) for name in train_steps}


def forward_matmul_shapes(args, model):
    """`(lhs shape, rhs shape)` of every matmul in our model's forward pass, as our layers run them."""
    batch, length, hidden, heads = args.batch_size, args.sequence_length, args.hidden_dim, args.num_heads
    shapes = []
    for layer in range(args.num_layers):
        # `call_at_positions`: the last BERT block runs only at [CLS] and the masked positions.
        queries = args.masked_positions + 1 if model == "bert" and layer == args.num_layers - 1 else length
        shapes += [((batch * queries, hidden), (hidden, hidden))]  # query projection
        shapes += [((batch * length, hidden), (hidden, hidden))] * 2  # key and value projections
        shapes += [
            ((batch, heads, queries, hidden // heads), (batch, heads, hidden // heads, length)),  # scores
            ((batch, heads, queries, length), (batch, heads, length, hidden // heads)),  # weighted values
            ((batch * queries, hidden), (hidden, hidden)),  # output projection
            ((batch * queries, hidden), (hidden, args.intermediate_dim)),  # feed-forward in
            ((batch * queries, args.intermediate_dim), (args.intermediate_dim, hidden)),  # feed-forward out
        ]
    if model == "bert":
        rows = batch * args.masked_positions
        shapes += [((rows, hidden), (hidden, hidden)), ((rows, hidden), (hidden, args.vocabulary_size))]
    else:  # the fused loss's chunks (`tied_softmax_cross_entropy`'s default chunk_size)
        rows, chunk = batch * length, 1024
        shapes += [((min(chunk, rows - start), hidden), (hidden, args.vocabulary_size)) for start in range(0, rows, chunk)]
    return shapes


def matmul_floor_step(shapes):
    """A step of only these matmuls and their two gradient matmuls each, on fixed random operands.

    The operands have the dtype policy's compute dtype, so under mixed_bfloat16
    the floor is that of bfloat16 matmuls throughout (our fused losses keep
    theirs in float32, so it is lower than our step could reach).
    """
    generator = tf.random.Generator.from_seed(0)
    dtype = keras.config.dtype_policy().compute_dtype  # bfloat16 under mixed_bfloat16

    def operand(shape):
        return tf.Variable(tf.cast(generator.normal(shape) * 0.01, dtype))

    operands = [(operand(lhs), operand(rhs)) for lhs, rhs in shapes]
    variables = [variable for pair in operands for variable in pair]
    # Fixed output gradients, so no fill or reduction pass over the outputs is timed.
    output_gradients = [tf.cast(generator.normal(lhs[:-1] + rhs[-1:]), dtype) for lhs, rhs in shapes]

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            outputs = [tf.matmul(lhs, rhs) for lhs, rhs in operands]
        gradients = tape.gradient(outputs, variables, output_gradients=output_gradients)
        # One element of every output and gradient is returned, so none of them is pruned.
        return tf.cast(tf.add_n([tensor[(0,) * len(tensor.shape)] for tensor in outputs + gradients]), "float32")

    return lambda: float(step())


def matmul_peak_flops(size=2048, repeats=10):
    """FLOP per wall second and per CPU-second of a square matmul in the compute dtype, best of three runs each."""
    dtype = keras.config.dtype_policy().compute_dtype
    a = tf.cast(tf.random.normal((size, size)), dtype)
    b = tf.cast(tf.random.normal((size, size)), dtype)
    multiply = tf.function(lambda x, y: tf.matmul(x, y))
    multiply(a, b).numpy()
    best_wall = best_cpu = float("inf")
    for _ in range(3):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(repeats):
            result = multiply(a, b)
        result.numpy()
        best_wall = min(best_wall, (time.perf_counter() - wall_start) / repeats)
        best_cpu = min(best_cpu, (time.process_time() - cpu_start) / repeats)
    flops = 2 * size**3
    return flops / best_wall, flops / best_cpu


def training_flops(args, model):
    """Matmul FLOPs of one training step (forward x 3), the usual 6*N*tokens accounting plus attention."""
    batch, length, hidden = args.batch_size, args.sequence_length, args.hidden_dim
    tokens = batch * length
    per_token_layer = 2 * (4 * hidden * hidden + 2 * hidden * args.intermediate_dim) + 4 * length * hidden
    forward = args.num_layers * tokens * per_token_layer
    if model == "bert":
        predictions = batch * args.masked_positions
        forward += predictions * 2 * (hidden * hidden + hidden * args.vocabulary_size) + 2 * batch * hidden * hidden
    else:
        forward += tokens * 2 * hidden * args.vocabulary_size
    return 3 * forward


def main():
    args = parse_arguments()
    keras.config.set_dtype_policy(args.dtype_policy)
    rng = np.random.default_rng(0)
    peak, cpu_peak = matmul_peak_flops()
    print(
        f"{keras.config.dtype_policy().compute_dtype} matmul peak (2048^3, best of 3): {peak / 1e9:.1f} GFLOP/s wall, "
        f"{cpu_peak / 1e9:.1f} GFLOP per CPU-second",
        flush=True,
    )
    builders = {"bert": (our_bert, keras_hub_bert, bert_batch), "gpt": (our_gpt, keras_hub_gpt, gpt_batch)}
    for model_name in args.models:
        ours, theirs, make_batch = builders[model_name]
        batch = make_batch(args, rng)
        print(f"{model_name.upper()}: batch {args.batch_size} x {args.sequence_length}, vocabulary {args.vocabulary_size}", flush=True)
        train_steps = {}
        for side, build in (("keras-hub", theirs), ("ours", ours)):
            for jit in args.jit:
                model = compiled_model(lambda: build(args), batch, jit == "on", args.warmup_steps)
                train_steps[(side, jit)] = train_step(model, batch)
        train_steps[FLOOR] = matmul_floor_step(forward_matmul_shapes(args, model_name))
        train_steps[FLOOR]()  # trace
        timings = time_round_robin(train_steps, args.steps)
        floor_wall, floor_cpu = timings.pop(FLOOR)
        for (side, jit), (wall, cpu) in timings.items():
            print(
                f"  {side:<10} jit_compile={jit:<3} {args.batch_size / wall:7.2f} sequences/s "
                f"({wall:.3f} s/step wall, {cpu:.3f} CPU-s/step)",
                flush=True,
            )
        best = {side: fastest(timings, side, args.jit, measure=0) for side in ("keras-hub", "ours")}
        best_cpu = {side: fastest(timings, side, args.jit, measure=1) for side in ("keras-hub", "ours")}
        (their_jit, (their_wall, _)), (our_jit, (our_wall, _)) = best["keras-hub"], best["ours"]
        (their_cpu_jit, (_, their_cpu)), (our_cpu_jit, (_, our_cpu)) = best_cpu["keras-hub"], best_cpu["ours"]
        flops = training_flops(args, model_name)
        print(
            f"{model_name.upper()} ratio ours/keras-hub = {their_wall / our_wall:.2f} "
            f"(ours {args.batch_size / our_wall:.2f} seq/s jit={our_jit}, "
            f"keras-hub {args.batch_size / their_wall:.2f} seq/s jit={their_jit}; "
            f"CPU-time ratio {their_cpu / our_cpu:.2f} (ours jit={our_cpu_jit} {our_cpu:.3f} CPU-s, "
            f"keras-hub jit={their_cpu_jit} {their_cpu:.3f} CPU-s); "
            f"MFU ours {flops / our_wall / peak:.0%}, keras-hub {flops / their_wall / peak:.0%} "
            f"of the matmul peak in wall time, ours {flops / our_cpu / cpu_peak:.0%}, "
            f"keras-hub {flops / their_cpu / cpu_peak:.0%} in CPU time; {flops / 1e9:.0f} GFLOP/step)",
            flush=True,
        )
        target = TARGETS[model_name]
        print(
            f"{model_name.upper()} matmul-only floor of our step: {floor_cpu:.3f} CPU-s "
            f"({floor_wall:.3f} s wall); keras-hub / floor = {their_cpu / floor_cpu:.2f} in CPU time; "
            f"the {target}x target leaves {their_cpu / target - floor_cpu:.3f} CPU-s per step for all "
            f"non-matmul work, ours spends {our_cpu - floor_cpu:.3f}",
            flush=True,
        )


def fastest(timings, side, jit_settings, measure):
    """`(jit, (wall, cpu))` of `side`'s fastest setting by wall time (`measure=0`) or CPU time (`measure=1`)."""
    return min(((jit, timings[(side, jit)]) for jit in jit_settings), key=lambda item: item[1][measure])


if __name__ == "__main__":
    main()
