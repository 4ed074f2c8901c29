"""Training throughput of our backbones against keras-hub's on an accelerator, on any Keras backend.

Three cases, as issue 21 measured them (BASE size: 12 layers, hidden 768,
12 heads, intermediate 3072):

- `bert-512`: BERT masked LM, batch 32 x 512, 76 masked positions, vocabulary 30522;
- `bert-128`: BERT masked LM, batch 256 x 128, 20 masked positions, vocabulary 30522;
- `gpt-1024`: GPT-2 causal LM, batch 16 x 1024, vocabulary 50257.

Each case trains three models in one process, on one synthetic batch, the
same wrapper on every side (backbone + head -> `keras.Model`, `compile` with
AdamW, `train_on_batch`):

- `keras-hub`: `BertBackbone` + `MaskedLMHead` (tied) / `GPT2Backbone` + the
  reverse token embedding, Keras's sparse cross-entropy on the logits;
- `ours (logits)`: `BertEncoder` + `MaskedLMHead` / `GptDecoder.logits`,
  the same loss on the logits;
- `ours (fused loss)`: as `pretrain` trains: the encoder's last block at the
  masked positions only + `MaskedLMHead.masked_lm_loss`, or
  `GptDecoder.language_model_loss` (no logits tensor).

The three are stepped round-robin (so a shared machine slows them alike); the
script prints tokens/s (batch x sequence per second, median step), the ratio
ours/keras-hub, the model FLOPs per token and the share of a matrix rate
measured in the same process (a square matmul in the compute dtype).

Model FLOPs per token (PaLM's accounting, Chowdhery et al. 2022, app. B; the
same figure for every side, whatever work an implementation skips):
`6 * N + 12 * L * T * H`, with N the weights each token multiplies by
(per layer `4 H^2 + 2 H I`; GPT adds the tied output projection `V H`; BERT
adds the masked-LM head `H^2 + V H` at `P / T` of the tokens), L layers,
T sequence length, H hidden size; embedding lookups, biases, LayerNorm and
the pooler are left out. The attention term counts the full `T x T`
scores, also for causal attention.

Dropout recipes (`--dropout-recipe`): `bert` (every dropout 0.1, BERT and
GPT-2 as published), `no-attention-dropout` (ours: attention dropout 0, the
rest 0.1, so our attention runs on the backend's fused kernel in training;
keras-hub has no separate option and keeps 0.1 everywhere), `none` (all 0).

    KERAS_BACKEND=jax python benchmarks/accelerator.py                 # BASE, the three cases
    python benchmarks/accelerator.py --preset tiny --vocabulary-size 1000   # CPU: toy sizes and shapes
    python benchmarks/accelerator.py --cases gpt-1024 --dropout-recipe none

The script imports only keras, keras_hub, numpy and our `layers`, so it runs
unchanged on a machine with Keras and JAX alone.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from layers import BACKBONE_SIZES, BertEncoder, GptDecoder, MaskedLMHead  # noqa: E402

# Per preset: (batch, sequence length, masked positions or None for GPT) of each case.
CASES = {
    "base": {"bert-512": (32, 512, 76), "bert-128": (256, 128, 20), "gpt-1024": (16, 1024, None)},
    "toy": {"bert-512": (4, 64, 10), "bert-128": (8, 32, 5), "gpt-1024": (2, 128, None)},
}
VOCABULARIES = {"bert": 30522, "gpt": 50257}
DROPOUT_RECIPES = {  # (our dropout, our attention dropout, keras-hub dropout)
    "bert": (0.1, 0.1, 0.1),
    "no-attention-dropout": (0.1, 0.0, 0.1),
    "none": (0.0, 0.0, 0.0),
}
SIDES = ("keras-hub", "ours (logits)", "ours (fused loss)")


def parse_arguments(argv=None):
    """The options from `argv` (the command line by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="base", choices=sorted(BACKBONE_SIZES), help="model size")
    parser.add_argument("--shapes", default=None, choices=sorted(CASES),
                        help="batch and sequence of the cases (default: base with --preset base, else toy)")
    parser.add_argument("--num-layers", type=int, default=None, help="override the preset's number of layers")
    parser.add_argument("--cases", nargs="+", default=list(CASES["base"]), choices=list(CASES["base"]))
    parser.add_argument("--vocabulary-size", type=int, default=None,
                        help="one vocabulary for every case (default: 30522 BERT, 50257 GPT)")
    parser.add_argument("--dtype-policy", default=None, choices=["float32", "mixed_bfloat16", "mixed_float16"],
                        help="both sides' Keras dtype policy (default: mixed_bfloat16 on an accelerator, float32 on CPU)")
    parser.add_argument("--dropout-recipe", default="bert", choices=sorted(DROPOUT_RECIPES))
    parser.add_argument("--steps", type=int, default=10, help="timed steps per model (median reported)")
    parser.add_argument("--warmup-steps", type=int, default=2, help="untimed steps (tracing, compilation)")
    parser.add_argument("--jit-compile", default="auto", choices=["auto", "on", "off"],
                        help="`compile(jit_compile=...)`; auto is XLA on JAX and on a TensorFlow GPU")
    parser.add_argument("--matmul-size", type=int, default=None,
                        help="side of the square matmul that measures the matrix rate (default 8192, 1024 on CPU)")
    return parser.parse_args(argv)


def accelerator():
    """The first non-CPU device Keras sees (`"gpu:0"`, `"tpu:0"`), or None."""
    devices = [device for device in keras.distribution.list_devices() if not device.lower().startswith("cpu")]
    return devices[0] if devices else None


def matrix_rate(size, repeats=5):
    """FLOP/s of a `size`^3 matmul in the compute dtype, best of three timings of `repeats` matmuls."""
    dtype = keras.config.dtype_policy().compute_dtype
    rng = np.random.default_rng(0)
    a = ops.cast(ops.convert_to_tensor(rng.standard_normal((size, size), "float32")), dtype)
    b = ops.cast(ops.convert_to_tensor(rng.standard_normal((size, size), "float32")), dtype)

    def run():
        results = [ops.matmul(a, b) for _ in range(repeats)]
        # Reading one element of each result waits for the device (asynchronous dispatch on JAX and GPUs).
        return [float(ops.convert_to_numpy(ops.cast(result[0, 0], "float32"))) for result in results]

    run()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        run()
        best = min(best, (time.perf_counter() - start) / repeats)
    return 2 * size**3 / best


def model_flops_per_token(size, vocabulary_size, length, masked_positions):
    """`6 N + 12 L T H` (see the module docstring) and N, for one case."""
    layers, hidden, intermediate = size["num_layers"], size["hidden_dim"], size["intermediate_dim"]
    weights = layers * (4 * hidden**2 + 2 * hidden * intermediate)
    if masked_positions is None:  # GPT: tied output projection at every token
        weights += vocabulary_size * hidden
    else:  # BERT: masked-LM head (dense + tied projection) at P of T tokens
        weights += (hidden**2 + vocabulary_size * hidden) * masked_positions / length
    return 6 * weights + 12 * layers * length * hidden, weights


def synthetic_batch(batch, length, masked_positions, vocabulary_size, seed=0):
    """`(inputs, labels, sample_weight)` of random tokens, every position real."""
    rng = np.random.default_rng(seed)
    shape = (batch, length)
    inputs = {"token_ids": rng.integers(5, vocabulary_size, shape).astype("int32"),
              "padding_mask": np.ones(shape, "int32")}
    if masked_positions is None:
        return inputs, rng.integers(5, vocabulary_size, shape).astype("int32"), None
    inputs["segment_ids"] = (np.arange(length) >= length // 2).astype("int32")[None].repeat(batch, 0)
    inputs["mask_positions"] = np.stack(
        [np.sort(rng.choice(length, masked_positions, replace=False)) for _ in range(batch)]
    ).astype("int32")
    labels = rng.integers(5, vocabulary_size, (batch, masked_positions)).astype("int32")
    return inputs, labels, np.ones((batch, masked_positions), "float32")


def bert_inputs():
    names = ("token_ids", "segment_ids", "padding_mask", "mask_positions")
    return {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in names}


def encoder_inputs(inputs):
    return {name: inputs[name] for name in ("token_ids", "segment_ids", "padding_mask")}


class FusedMaskedLanguageModel(keras.Model):
    """Our BERT as `pretrain bert` trains it: last block at the masked positions, fused head + loss."""

    def __init__(self, encoder, **kwargs):
        inputs = bert_inputs()
        sequence = encoder(encoder_inputs(inputs), output_positions=inputs["mask_positions"])["sequence_output"]
        super().__init__(inputs=inputs, outputs=sequence, **kwargs)
        self.head = MaskedLMHead(token_embedding=encoder.token_embedding, name="mlm_head")
        self.head.build(sequence.shape)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return self.head.masked_lm_loss(y_pred, y, sample_weight)


class FusedLanguageModel(keras.Model):
    """Our GPT as `pretrain gpt` trains it: the fused tied-softmax loss on the sequence output."""

    def __init__(self, decoder, **kwargs):
        super().__init__(inputs=decoder.input, outputs=decoder(decoder.input), **kwargs)
        self.decoder = decoder

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return self.decoder.language_model_loss(y_pred, y, sample_weight)


def build_model(side, model, arguments, dropouts):
    """The training model of one side; `arguments` are the backbone's size and vocabulary."""
    dropout, attention_dropout, their_dropout = dropouts
    if side == "keras-hub":
        if model == "gpt":
            backbone = keras_hub.models.GPT2Backbone(**arguments, dropout=their_dropout)
            return keras.Model(backbone.input, backbone.token_embedding(backbone(backbone.input), reverse=True))
        backbone = keras_hub.models.BertBackbone(**arguments, dropout=their_dropout)
        head = keras_hub.layers.MaskedLMHead(
            token_embedding=backbone.token_embedding,
            intermediate_activation="gelu",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            name="mlm_head",
        )
        inputs = bert_inputs()
        sequence = backbone(encoder_inputs(inputs))["sequence_output"]
        return keras.Model(inputs, head(sequence, mask_positions=inputs["mask_positions"]))
    ours = dict(arguments, dropout=dropout, attention_dropout=attention_dropout)
    if model == "gpt":
        decoder = GptDecoder(**ours)
        if side == "ours (fused loss)":
            return FusedLanguageModel(decoder)
        return keras.Model(decoder.input, decoder.logits(decoder(decoder.input)))
    encoder = BertEncoder(**ours)
    if side == "ours (fused loss)":
        return FusedMaskedLanguageModel(encoder)
    inputs = bert_inputs()
    head = MaskedLMHead(token_embedding=encoder.token_embedding, name="mlm_head")
    return keras.Model(inputs, head(encoder(encoder_inputs(inputs))["sequence_output"], inputs["mask_positions"]))


def compiled(model, jit_compile):
    """`model` compiled with AdamW; with Keras's sparse cross-entropy unless its own `compute_loss` is the loss.

    A model whose `compute_loss` ignores a compiled `loss` must not be given
    one: Keras would find that loss never built and trace the whole model
    again (`_symbolic_build`) in every `train_on_batch`.
    """
    fused = isinstance(model, (FusedMaskedLanguageModel, FusedLanguageModel))
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=1e-4, weight_decay=0.01),
        loss=None if fused else keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile={"auto": "auto", "on": True, "off": False}[jit_compile],
    )
    return model


def time_round_robin(models, batch, steps, warmup_steps):
    """Median seconds per `train_on_batch` of each model, the models stepped in turn."""
    inputs, labels, sample_weight = batch
    seconds = {name: [] for name in models}
    for step in range(warmup_steps + steps):
        for name, model in models.items():
            start = time.perf_counter()
            loss = model.train_on_batch(inputs, labels, sample_weight=sample_weight)  # returns on the host
            elapsed = time.perf_counter() - start
            if not np.isfinite(loss):
                raise RuntimeError(f"{name}: non-finite loss {loss}")
            if step >= warmup_steps:
                seconds[name].append(elapsed)
    return {name: float(np.median(values)) for name, values in seconds.items()}


def main(argv=None):
    args = parse_arguments(argv)
    device = accelerator()
    keras.config.set_dtype_policy(args.dtype_policy or ("mixed_bfloat16" if device else "float32"))
    size = dict(BACKBONE_SIZES[args.preset], **({"num_layers": args.num_layers} if args.num_layers else {}))
    dropouts = DROPOUT_RECIPES[args.dropout_recipe]
    rate = matrix_rate(args.matmul_size or (8192 if device else 1024))
    compute_dtype = keras.config.dtype_policy().compute_dtype
    print(f"device: {device or 'cpu'}, Keras {keras.__version__} backend {keras.backend.backend()}, "
          f"keras-hub {keras_hub.__version__}, dtype policy {keras.config.dtype_policy().name}", flush=True)
    print(f"size {args.preset}: {size['num_layers']} layers, hidden {size['hidden_dim']}, {size['num_heads']} heads, "
          f"intermediate {size['intermediate_dim']}; dropout recipe {args.dropout_recipe}: ours dropout {dropouts[0]}, "
          f"attention dropout {dropouts[1]}; keras-hub dropout {dropouts[2]} (attention included)", flush=True)
    print(f"matrix rate: {compute_dtype} {args.matmul_size or (8192 if device else 1024)}^3 matmul, best of 3: "
          f"{rate / 1e12:.2f} TFLOP/s", flush=True)
    print("model FLOPs per token = 6 * N + 12 * L * T * H (N: weights per token, L layers, T sequence, H hidden)",
          flush=True)
    summary = []
    for case in args.cases:
        batch_size, length, masked = CASES[args.shapes or ("base" if args.preset == "base" else "toy")][case]
        model = case.split("-")[0]
        vocabulary_size = args.vocabulary_size or VOCABULARIES[model]
        arguments = dict(vocabulary_size=vocabulary_size, max_sequence_length=length, **size)
        flops, weights = model_flops_per_token(size, vocabulary_size, length, masked)
        masked_text = f", {masked} masked positions" if masked else ""
        print(f"{case}: {model.upper()} batch {batch_size} x {length}{masked_text}, vocabulary {vocabulary_size}; "
              f"model FLOPs per token {flops / 1e9:.4f} GFLOP (N = {weights / 1e6:.2f} M)", flush=True)
        models = {}
        for side in SIDES:
            keras.utils.set_random_seed(0)
            models[side] = compiled(build_model(side, model, arguments, dropouts), args.jit_compile)
        batch = synthetic_batch(batch_size, length, masked, vocabulary_size)
        seconds = time_round_robin(models, batch, args.steps, args.warmup_steps)
        tokens = {side: batch_size * length / seconds[side] for side in SIDES}
        for side in SIDES:
            ratio = "" if side == "keras-hub" else f", ratio ours/keras-hub {tokens[side] / tokens['keras-hub']:.2f}"
            print(f"  {side:<18} {tokens[side]:>12,.0f} tokens/s ({seconds[side]:.4f} s/step, jit_compile="
                  f"{models[side].jit_compile}), {tokens[side] * flops / rate:.1%} of the matrix rate{ratio}",
                  flush=True)
        summary.append((case, tokens))
    print("| case | keras-hub tokens/s | ours (logits) | ours (fused loss) |")
    print("|---|---|---|---|")
    for case, tokens in summary:
        ours = [f"{tokens[side]:,.0f} ({tokens[side] / tokens['keras-hub']:.2f}x)" for side in SIDES[1:]]
        print(f"| {case} | {tokens['keras-hub']:,.0f} | {ours[0]} | {ours[1]} |")


if __name__ == "__main__":
    main()
