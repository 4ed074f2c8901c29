"""End-to-end pretraining throughput next to model-only throughput.

End to end is `pretrain bert` / `pretrain gpt` as a user runs it on the
Wikipedia sample: streaming corpus pipeline, in-graph masking, the training
step, held-out evaluation and checkpoints. Each command runs twice, for
`--short-steps` and `--long-steps` updates; the difference of the two wall
times cancels the fixed costs (TensorFlow start-up, vocabulary training,
tracing, export), so `(long - short) * batch * seq_length / (t_long - t_short)`
is the steady tokens/s of a long run. Model only is the training step of the
same model on one synthetic batch held in memory
(`benchmarks/backbones.py`'s `compiled_model` and `time_round_robin`: AdamW,
no XLA, median step), in the same
process. The ratio says how much of the model's speed survives the pipeline
and the checkpoints.

Usage (about ten minutes on 2 cores):

    python benchmarks/pretrain.py --preset mini --batch-size 16 --seq-length 128
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

# This file is named like the `pretrain` package: take its folder off the path
# and load the sibling `backbones.py` by file name.
BENCHMARKS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != BENCHMARKS_DIR]
sys.path.insert(0, os.path.dirname(BENCHMARKS_DIR))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import importlib.util  # noqa: E402

import numpy as np  # noqa: E402

from layers import BACKBONE_SIZES  # noqa: E402
from pretrain.pretrain_config import DataConfig, PretrainConfig, TokenizerConfig, TrainingConfig  # noqa: E402
from pretrain.pretrain_run import run_pretraining  # noqa: E402


def load_backbones_benchmark():
    spec = importlib.util.spec_from_file_location("backbones", os.path.join(BENCHMARKS_DIR, "backbones.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


backbones = load_backbones_benchmark()


def end_to_end_seconds(model, args, steps, output_dir):
    from gensim.test.utils import datapath

    corpus = datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    config = PretrainConfig(
        model=model,
        preset=args.preset,
        tokenizer=TokenizerConfig(vocabulary_size=args.vocab_size),
        data=DataConfig(corpus=(corpus,), corpus_format="wikixml", seq_length=args.seq_length),
        training=TrainingConfig(
            steps=steps, batch_size=args.batch_size, checkpoint_every=args.checkpoint_every, eval_batches=2
        ),
    )
    shutil.rmtree(output_dir, ignore_errors=True)
    start = time.perf_counter()
    run_pretraining(config, output_dir)
    return time.perf_counter() - start


def model_only_seconds(model, args):
    size = BACKBONE_SIZES[args.preset]
    settings = argparse.Namespace(
        batch_size=args.batch_size, sequence_length=args.seq_length, vocabulary_size=args.vocab_size,
        masked_positions=20, num_layers=size["num_layers"], hidden_dim=size["hidden_dim"],
        num_heads=size["num_heads"], intermediate_dim=size["intermediate_dim"],
    )
    rng = np.random.default_rng(0)
    if model == "bert":
        build, batch = (lambda: backbones.our_bert(settings)), backbones.bert_batch(settings, rng)
    else:
        build, batch = (lambda: backbones.our_gpt(settings)), backbones.gpt_batch(settings, rng)
    model = backbones.compiled_model(build, batch, jit_compile=False, warmup_steps=2)
    wall_seconds, _ = backbones.time_round_robin({"ours": backbones.train_step(model, batch)}, args.model_steps)["ours"]
    return wall_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["bert", "gpt"], choices=["bert", "gpt"])
    parser.add_argument("--preset", default="mini", choices=sorted(BACKBONE_SIZES))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--short-steps", type=int, default=10)
    parser.add_argument("--long-steps", type=int, default=60)
    parser.add_argument("--checkpoint-every", type=int, default=20)
    parser.add_argument("--model-steps", type=int, default=10)
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="pretrain-benchmark-")
    tokens_per_step = args.batch_size * args.seq_length
    rows = []
    try:
        for model in args.models:
            short = end_to_end_seconds(model, args, args.short_steps, os.path.join(scratch, f"{model}-short"))
            long = end_to_end_seconds(model, args, args.long_steps, os.path.join(scratch, f"{model}-long"))
            end_to_end = (args.long_steps - args.short_steps) * tokens_per_step / (long - short)
            model_only = tokens_per_step / model_only_seconds(model, args)
            rows.append((model, end_to_end, model_only, long))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n{args.preset}, batch {args.batch_size} x {args.seq_length} tokens, vocabulary {args.vocab_size}:")
    for model, end_to_end, model_only, long in rows:
        print(
            f"pretrain {model}: end to end {end_to_end:,.0f} tokens/s, model only {model_only:,.0f} tokens/s, "
            f"ratio {end_to_end / model_only:.2f} ({args.long_steps}-step command took {long:.0f} s in all)"
        )


if __name__ == "__main__":
    main()
