"""Denoising pretraining on the Wikipedia sample: held-out reconstruction accuracy and BLEU.

Runs `pretrain seq2seq` (T5 span corruption) on gensim's Wikipedia sample,
then, on the held-out documents (one in 20, never trained on), measures

- reconstruction token accuracy: teacher-forced, the share of target tokens
  (sentinels, span tokens, [SEP]) predicted exactly;
- BLEU (sacrebleu, corpus level) of beam-search decoded targets against the
  true targets, both as WordPiece text;

for the trained model and for two peers measured in the same run: the same
model untrained (step 0) and a "sentinels only" baseline that outputs the
right sentinels but no span text (what a model learns first). Ratios are
printed against them. Figures go to stdout and OUTPUT/quality.json.

    .venv/bin/python benchmarks/seq2seq_quality.py --output runs/seq2seq_quality
"""

import argparse
import json
import os
import sys
import time


import numpy as np  # noqa: E402
import sacrebleu  # noqa: E402
import tensorflow as tf  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402

from pretrain.examples.span_corruption import span_corruption_dataset, target_length  # noqa: E402
from pretrain.objectives.seq2seq_pretrainer import (  # noqa: E402
    DecodingConfig,
    Seq2SeqPretrainConfig,
    Seq2SeqPretrainer,
    build_backbone,
)
from pretrain.runs.seq2seq_run import run_seq2seq_pretraining  # noqa: E402
from pretrain.text.corpus import read_documents  # noqa: E402
from pretrain.text.tokenizer import SEP_ID, WordPieceTokenizer, load_vocabulary  # noqa: E402
from pretrain.training.pretrain_config import TokenizerConfig  # noqa: E402
from tasks.seq2seq_decoding import decode, trim  # noqa: E402

WIKI_SAMPLE = datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")


def heldout_examples(config, tokenizer, data_dir, limit):
    documents = lambda: read_documents(os.path.join(data_dir, "heldout.txt"))  # noqa: E731
    dataset = span_corruption_dataset(documents, tokenizer, config.data, seed=12345)
    return next(iter(dataset.take(limit).batch(limit)))


def teacher_forced_accuracy(backbone, examples, is_sentinel):
    """Token accuracy over all target tokens, and over span text alone (no sentinels, no [SEP])."""
    model = Seq2SeqPretrainer(backbone)
    inputs = {k: v for k, v in examples.items() if k != "labels"}
    predictions = np.argmax(model.predict(inputs, batch_size=32, verbose=0), axis=-1)
    labels = examples["labels"].numpy()
    real = labels != 0
    span_text = real & ~is_sentinel[labels] & (labels != SEP_ID)
    correct = predictions == labels
    return float(correct[real].mean()), float(correct[span_text].mean())


def targets_text(tokenizer, ids):
    """WordPiece text of target ids, cut at [SEP]."""
    ids = tf.convert_to_tensor(ids)
    before_end = tf.cumsum(tf.cast(tf.equal(ids, SEP_ID), tf.int32), axis=1) == 0
    return [t.decode() for t in tokenizer.detokenize(tf.ragged.boolean_mask(ids, before_end)).numpy()]


def decoded_text(backbone, tokenizer, examples, num_beams, max_length):
    texts = []
    for start in range(0, len(examples["labels"]), 32):
        tokens = decode(
            backbone,
            examples["encoder_token_ids"][start : start + 32],
            examples["encoder_padding_mask"][start : start + 32],
            max_length,
            num_beams=num_beams,
        )
        texts += [t.decode() for t in tokenizer.detokenize(trim(tokens)).numpy()]
    return texts


def sentinels_only(tokenizer, labels):
    """The targets with every span token removed: only sentinels survive."""
    sentinel = np.array([token.startswith("[unused") for token in tokenizer.vocabulary])
    kept = tf.ragged.boolean_mask(labels, tf.gather(sentinel, labels))
    return [t.decode() for t in tokenizer.detokenize(kept).numpy()]


def bleu(hypotheses, references):
    return sacrebleu.corpus_bleu(hypotheses, [references]).score


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="runs/seq2seq_quality")
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--input-length", type=int, default=64)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--num-beams", type=int, default=4)
    parser.add_argument("--eval-examples", type=int, default=256)
    args = parser.parse_args(argv)

    defaults = Seq2SeqPretrainConfig()
    config = Seq2SeqPretrainConfig(
        preset=args.preset,
        tokenizer=TokenizerConfig(vocabulary_size=args.vocab_size),
        data=defaults.data.replace(
            corpus=(WIKI_SAMPLE,), corpus_format="wikixml", input_length=args.input_length
        ),
        training=defaults.training.replace(
            steps=args.steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            checkpoint_every=max(args.steps // 5, 1),
            eval_batches=8,
        ),
        decoding=DecodingConfig(
            num_beams=args.num_beams,
            max_length=target_length(defaults.data.replace(input_length=args.input_length)) + 1,
        ),
    )
    started = time.time()
    metrics = run_seq2seq_pretraining(config, args.output)
    train_seconds = time.time() - started

    tokens = load_vocabulary(os.path.join(args.output, "vocab.txt"))
    tokenizer = WordPieceTokenizer(tokens)
    saved = json.load(open(os.path.join(args.output, "config.json"), encoding="utf-8"))
    config = config.replace(backbone=saved["backbone"])
    examples = heldout_examples(config, tokenizer, os.path.join(args.output, "data"), args.eval_examples)
    references = targets_text(tokenizer, examples["labels"])
    max_length = config.decoding.max_length

    import keras

    trained = keras.models.load_model(os.path.join(args.output, "model.keras")).backbone
    untrained = build_backbone(config, len(tokens))
    results = {"steps": int(metrics["step"]), "train_seconds": round(train_seconds, 1)}
    results["heldout_examples"] = len(references)
    is_sentinel = np.array([token.startswith("[unused") for token in tokens])
    for name, backbone in (("trained", trained), ("untrained", untrained)):
        accuracy, span_accuracy = teacher_forced_accuracy(backbone, examples, is_sentinel)
        results[f"{name}_token_accuracy"] = accuracy
        results[f"{name}_span_text_accuracy"] = span_accuracy
        results[f"{name}_bleu_beam{args.num_beams}"] = bleu(
            decoded_text(backbone, tokenizer, examples, args.num_beams, max_length), references
        )
    results["trained_bleu_greedy"] = bleu(decoded_text(trained, tokenizer, examples, 1, max_length), references)
    results["sentinels_only_bleu"] = bleu(sentinels_only(tokenizer, examples["labels"]), references)
    beam = f"trained_bleu_beam{args.num_beams}"
    results["bleu_ratio_vs_sentinels_only"] = results[beam] / max(results["sentinels_only_bleu"], 1e-9)
    results["command"] = "benchmarks/seq2seq_quality.py " + " ".join(argv or sys.argv[1:])
    for key, value in results.items():
        print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")
    with open(os.path.join(args.output, "quality.json"), "w", encoding="utf-8") as file:
        json.dump(results, file, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
