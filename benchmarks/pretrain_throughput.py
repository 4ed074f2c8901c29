"""End-to-end pretraining throughput next to model-only throughput.

End to end is `pretrain bert` / `pretrain gpt` as a user runs it on the
Wikipedia sample: streaming corpus pipeline, in-graph masking, the training
step, and at `pretrain`'s default intervals (`TrainingConfig`: every
`checkpoint_every` updates) a held-out evaluation of `eval_batches` batches
and a checkpoint. The run's TensorBoard log stamps the end of every round;
the time between two consecutive round ends covers exactly one round of
updates with its evaluation and checkpoint, so `checkpoint_every * batch *
seq_length / that time` is the steady tokens/s of a long run (start-up,
vocabulary and skip-gram training, tracing and export are one-time costs that
a long run amortises). Model only is the training step of the same model on
one synthetic batch held in memory (`benchmarks/backbones.py`'s
`compiled_model` and `time_round_robin`: AdamW, no XLA, median step), in the
same process. The ratio says how much of the model's speed survives the
pipeline, the evaluations and the checkpoints. The input pipeline alone is
timed too, reading the finished run's split.

(Until 2026-12-04 the end-to-end figure was the difference of a short and a
long run; their one-time costs differed by tens of seconds, which that
method counted as training time: 0.53 for BERT then, against 0.86 for the
same run read from its round stamps.)

Usage (about ten minutes on 2 cores):

    python benchmarks/pretrain_throughput.py --preset mini --batch-size 16 --seq-length 128
"""

import argparse
import os
import shutil
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import backbones  # noqa: E402  (the sibling benchmark: this script's folder is on the path)
import numpy as np  # noqa: E402

from layers import BACKBONE_SIZES  # noqa: E402
from pretrain.runs.pretrain_run import run_pretraining  # noqa: E402
from pretrain.training.pretrain_config import TokenizerConfig, TrainingConfig, config_class  # noqa: E402


def make_config(model, args, steps):
    from gensim.test.utils import datapath

    corpus = datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    cls = config_class(model)
    return cls(
        preset=args.preset,
        tokenizer=TokenizerConfig(vocabulary_size=args.vocab_size),
        data=cls().data.replace(corpus=(corpus,), corpus_format="wikixml", seq_length=args.seq_length),
        training=TrainingConfig(
            steps=steps, batch_size=args.batch_size, checkpoint_every=args.checkpoint_every,
            eval_batches=args.eval_batches,
        ),
    )


def round_end_times(log_dir):
    """Wall times at which the run's TensorBoard log recorded the end of each round, in order."""
    import glob

    import tensorflow as tf

    times = {}
    for path in glob.glob(os.path.join(log_dir, "train", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            if any(value.tag == "epoch_loss" for value in event.summary.value):
                times[event.step] = event.wall_time
    return [times[step] for step in sorted(times)]


def end_to_end_seconds_per_round(model, args, output_dir):
    """Mean seconds of one full round (`checkpoint_every` updates, an evaluation and a checkpoint)."""
    config = make_config(model, args, args.rounds * args.checkpoint_every)
    shutil.rmtree(output_dir, ignore_errors=True)
    run_pretraining(config, output_dir)
    ends = round_end_times(os.path.join(output_dir, "logs"))
    if len(ends) < 2:
        raise SystemExit("the run's TensorBoard log has fewer than two round ends: is tensorboard installed?")
    return (ends[-1] - ends[0]) / (len(ends) - 1)


def pipeline_only_seconds(model, args, output_dir, batches):
    """Seconds per training batch of the input pipeline alone, read from a finished run's split and vocabulary."""
    import json

    from pretrain.runs.pretrain_run import build_datasets
    from pretrain.text.tokenizer import WordPieceTokenizer, load_vocabulary

    config = make_config(model, args, args.rounds * args.checkpoint_every)
    tokenizer = WordPieceTokenizer(load_vocabulary(os.path.join(output_dir, "vocab.txt")))
    with open(os.path.join(output_dir, "data", "split.json"), encoding="utf-8") as file:
        counts = json.load(file)["counts"]
    train, _ = build_datasets(config, tokenizer, os.path.join(output_dir, "data"), counts, seed=0)
    iterator = iter(train)
    next(iterator)  # start-up: the generator's first documents and the graph functions
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return (time.perf_counter() - start) / batches


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
    defaults = TrainingConfig()
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the run; the first one is warm-up")
    parser.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every)
    parser.add_argument("--eval-batches", type=int, default=defaults.eval_batches)
    parser.add_argument("--model-steps", type=int, default=10)
    parser.add_argument("--pipeline-batches", type=int, default=200, help="batches timed of the pipeline alone")
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="pretrain-benchmark-")
    tokens_per_step = args.batch_size * args.seq_length
    rows = []
    try:
        for model in args.models:
            run_dir = os.path.join(scratch, model)
            end_to_end = args.checkpoint_every * tokens_per_step / end_to_end_seconds_per_round(model, args, run_dir)
            pipeline = tokens_per_step / pipeline_only_seconds(model, args, run_dir, args.pipeline_batches)
            model_only = tokens_per_step / model_only_seconds(model, args)
            rows.append((model, end_to_end, model_only, pipeline))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n{args.preset}, batch {args.batch_size} x {args.seq_length} tokens, vocabulary {args.vocab_size}, "
          f"a checkpoint and {args.eval_batches} held-out batches every {args.checkpoint_every} updates:")
    for model, end_to_end, model_only, pipeline in rows:
        print(
            f"pretrain {model}: end to end {end_to_end:,.0f} tokens/s, model only {model_only:,.0f} tokens/s, "
            f"ratio {end_to_end / model_only:.2f}; the input pipeline alone delivers {pipeline:,.0f} tokens/s"
        )


if __name__ == "__main__":
    main()
