"""Pretraining speed on the Keras TensorFlow and JAX backends, side by side.

Each backend trains in its own process (Keras picks the backend at import): a GPT of the preset through
the toolkit's own training code (`compile_pretrainer`: TensorFlow without `--xla`, as `pretrain` runs by
default, JAX jit-compiled; `create_checkpointer`; `loop.fit`) on random token batches held in memory, so
the input pipeline, identical on both, is left out. `--warmup` updates (tracing, compilation) are not
timed; the next `--updates` are, wall-clock and CPU time of the process (all its threads). The backends
alternate (TF, JAX, TF, JAX, ...) `--repeats` times, so a shared machine's load falls on both alike; the
medians are printed.

Usage (about five minutes on 2 cores):

    python benchmarks/backend_speed.py --preset mini --batch-size 16 --seq-length 128
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
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from layers import BACKBONE_SIZES, GptDecoder  # noqa: E402
from pretrain.objectives import gpt_pretrainer  # noqa: E402
from pretrain.training import loop  # noqa: E402
from pretrain.training.checkpoints import create_checkpointer  # noqa: E402
from pretrain.training.optimizer import compile_pretrainer  # noqa: E402
from pretrain.training.pretrain_config import TrainingConfig  # noqa: E402

BACKENDS = ("tensorflow", "jax")


def timed_training(args):
    """`{"backend", "updates_per_second", "cpu_seconds_per_update"}` of `args.updates` timed updates here."""
    keras.utils.set_random_seed(0)
    backbone = GptDecoder(vocabulary_size=args.vocab_size, name="backbone", **BACKBONE_SIZES[args.preset])
    model = gpt_pretrainer.GptPretrainer(backbone)
    tokens = np.random.default_rng(0).integers(5, args.vocab_size, (8, args.batch_size, args.seq_length + 1))
    batches = tf.data.Dataset.from_tensor_slices({"input_ids": tokens[:, :, :-1], "labels": tokens[:, :, 1:]})
    batches = batches.map(gpt_pretrainer.features_to_inputs).repeat()
    total = args.warmup + args.updates
    training = TrainingConfig(steps=total, batch_size=args.batch_size, checkpoint_every=total)
    compile_pretrainer(model, training)
    with tempfile.TemporaryDirectory() as directory:
        checkpointer = create_checkpointer(model, os.path.join(directory, "checkpoints"))
        warmup = training.replace(steps=args.warmup, checkpoint_every=args.warmup)
        loop.fit(model, batches, None, warmup, checkpointer, os.path.join(directory, "logs"), 0)
        wall, cpu = time.perf_counter(), time.process_time()
        loop.fit(model, batches, None, training, checkpointer, os.path.join(directory, "logs"), args.warmup)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"backend": keras.backend.backend(), "updates_per_second": args.updates / wall,
            "cpu_seconds_per_update": cpu / args.updates}


def run_on(backend, argv):
    """The result line of this script's `--child` run under KERAS_BACKEND=`backend`."""
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", *argv], capture_output=True, text=True,
        env=dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3"), timeout=3600,
    )
    if result.returncode != 0:
        raise SystemExit(f"the {backend} run failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="mini", choices=sorted(BACKBONE_SIZES))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--warmup", type=int, default=5, help="updates before the timing (compilation)")
    parser.add_argument("--updates", type=int, default=25, help="updates timed")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each backend, alternating")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args, argv = parser.parse_args(), [a for a in sys.argv[1:] if a != "--child"]
    if args.child:
        print(json.dumps(timed_training(args)))
        return
    runs = {backend: [] for backend in BACKENDS}
    for _ in range(args.repeats):
        for backend in BACKENDS:
            runs[backend].append(run_on(backend, argv))
    print(f"GPT {args.preset}, batches of {args.batch_size} x {args.seq_length}, {args.updates} updates timed, "
          f"median of {args.repeats} alternating runs:")
    for backend, results in runs.items():
        speed = statistics.median(result["updates_per_second"] for result in results)
        cpu = statistics.median(result["cpu_seconds_per_update"] for result in results)
        print(f"{backend}: {speed:.3f} updates/s, {cpu:.3f} CPU-s per update")


if __name__ == "__main__":
    main()
