"""CPU time of the non-matmul work that every implementation of the BERT-mini / GPT-mini step must do.

`benchmarks/backbones.py` prints, per model, how much CPU time per step the
target ratio against keras-hub leaves for everything that is not a matmul.
This script times, one op at a time on this machine, the element-wise work
that both libraries' steps contain at those sizes (batch 32 x 128, hidden 256,
intermediate 1024, 4 heads, 4 layers, vocabulary 30522), forward and
backward, and sums it per step the way our step runs it (the last BERT block
at 21 of 128 rows). If the sum exceeds that budget, no implementation with the
same FLOPs, numerics and dropout reaches the target on this machine.

    .venv/bin/python benchmarks/elementwise_costs.py
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

BATCH, LENGTH, HIDDEN, INTERMEDIATE, HEADS, LAYERS, VOCABULARY = 32, 128, 256, 1024, 4, 4, 30522
BERT_LAST_ROWS = BATCH * 21  # [CLS] + 20 masked positions
OPTIMIZER_PARAMETERS = 11_200_000


def cpu_seconds(function, *inputs, repeats=20):
    """Mean CPU seconds of one call of `function(*inputs)`, traced once before timing."""
    traced = tf.function(function)
    traced(*inputs).numpy()
    start = time.process_time()
    for _ in range(repeats):
        traced(*inputs).numpy()
    return (time.process_time() - start) / repeats


def forward_backward(layer_function):
    """A function of `x` whose cost is `layer_function(x)` and its gradient for a fixed output gradient."""

    def run(x, output_gradient):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer_function(x)
        gradient = tape.gradient(y, x, output_gradients=output_gradient)
        return tf.reduce_sum(y[:1]) + tf.reduce_sum(gradient[:1])  # both used, so neither is pruned

    return run


def layer_norm(x):
    gamma, beta = tf.ones(x.shape[-1:]), tf.zeros(x.shape[-1:])
    return ops.layer_normalization(x, gamma, beta, epsilon=1e-12)


DROPOUT_SEED = keras.random.SeedGenerator(0)


def dropout(x):
    return keras.random.dropout(x, 0.1, seed=DROPOUT_SEED)  # as keras.layers.Dropout draws it


def softmax_with_gradient_scale(x):
    """The fused loss's per-chunk non-matmul work: softmax and the gradient's scaled probabilities."""
    return tf.reduce_sum((tf.nn.softmax(x) * 0.5)[:, :1])


def adamw_step(variable, gradient, optimizer):
    optimizer.apply_gradients([(gradient, variable)])
    return tf.reduce_sum(variable[:1])


def forward_backward_seconds(layer_function, shape):
    """CPU-s of `layer_function` and its gradient on a random `shape` input."""
    return cpu_seconds(forward_backward(layer_function), tf.random.normal(shape), tf.random.normal(shape))


def measure():
    """CPU-s of each item, per single application at the sizes it runs at."""
    rows, last_rows = (BATCH * LENGTH, HIDDEN), (BERT_LAST_ROWS, HIDDEN)
    wide, last_wide = (BATCH * LENGTH, INTERMEDIATE), (BERT_LAST_ROWS, INTERMEDIATE)
    scores, last_scores = (BATCH, HEADS, LENGTH, LENGTH), (BATCH, HEADS, 21, LENGTH)
    exact_gelu = lambda x: ops.gelu(x, approximate=False)  # noqa: E731
    tanh_gelu = lambda x: ops.gelu(x, approximate=True)  # noqa: E731
    softmax = lambda x: ops.softmax(x, axis=-1)  # noqa: E731
    variable = tf.Variable(tf.random.normal((OPTIMIZER_PARAMETERS,)))
    optimizer = keras.optimizers.AdamW(learning_rate=1e-4, weight_decay=0.01)
    gradient = tf.random.normal((OPTIMIZER_PARAMETERS,))
    return {
        "layer norm, all rows": forward_backward_seconds(layer_norm, rows),
        "layer norm, last BERT block": forward_backward_seconds(layer_norm, last_rows),
        "exact GELU, all rows": forward_backward_seconds(exact_gelu, wide),
        "exact GELU, last BERT block": forward_backward_seconds(exact_gelu, last_wide),
        "tanh GELU, all rows": forward_backward_seconds(tanh_gelu, wide),
        "attention softmax": forward_backward_seconds(softmax, scores),
        "attention softmax, last BERT block": forward_backward_seconds(softmax, last_scores),
        "dropout, hidden": forward_backward_seconds(dropout, rows),
        "dropout, attention": forward_backward_seconds(dropout, scores),
        "vocabulary softmax, 1024-row chunk": cpu_seconds(softmax_with_gradient_scale, tf.random.normal((1024, VOCABULARY))),
        "AdamW, 11.2 M parameters": cpu_seconds(lambda v: adamw_step(v, gradient, optimizer), variable),
    }


def per_step(cost, model):
    """Sum the items as our step runs them: counts per step of each item."""
    full_blocks = LAYERS - 1 if model == "bert" else LAYERS
    counts = {
        "layer norm, all rows": 2 * full_blocks + 1,  # + the embedding LN (BERT) or the final LN (GPT)
        "layer norm, last BERT block": 2 + 1 if model == "bert" else 0,  # + the MLM head's LN (640 rows)
        "attention softmax": full_blocks,
        "attention softmax, last BERT block": 1 if model == "bert" else 0,
        # embedding, attention output and feed-forward output dropouts
        "dropout, hidden": 1 + 2 * full_blocks,
        "dropout, attention": full_blocks,
        "AdamW, 11.2 M parameters": 1,
    }
    if model == "bert":
        counts.update({"exact GELU, all rows": full_blocks, "exact GELU, last BERT block": 1})
    else:
        counts.update({"tanh GELU, all rows": full_blocks, "vocabulary softmax, 1024-row chunk": BATCH * LENGTH // 1024})
    return {name: count * cost[name] for name, count in counts.items() if count}


def main():
    cost = measure()
    for model in ("bert", "gpt"):
        items = per_step(cost, model)
        print(f"{model.upper()}: non-matmul work both libraries do per step, CPU-s")
        for name, seconds in items.items():
            print(f"  {name:<38} {seconds:.3f}")
        print(f"{model.upper()} sum {sum(items.values()):.3f} CPU-s per step (not counted: embeddings, masks, "
              "bias adds, residual adds, layout transposes)", flush=True)


if __name__ == "__main__":
    main()
