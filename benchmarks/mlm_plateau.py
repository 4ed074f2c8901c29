"""How fast does a masked LM learn from context? Held-out accuracy at `[MASK]` inputs, per encoder variant.

`mlm_accuracy` also counts the predicted positions whose token was left unchanged (10%), which a model
copies almost at once, so it rises while the model has learned nothing from context. This benchmark
trains short masked-LM runs of a tiny BERT (our `BertPretrainer`, no NSP, the run's pipeline and
optimizer) and every `--every` updates scores the held-out batches **at `[MASK]` inputs only**, beside
the unigram baseline (always the most frequent token of the training sample). One process per variant:

    bert               BERT's encoder (post-LN, learned positions, dropout 0.1)
    normalize-first    pre-LN blocks and a final LayerNorm
    dropout0           every dropout 0
    sinusoid-positions learned positions started from sinusoids (scaled to the initialiser's std)
    alibi              ALiBi attention biases (`BertEncoder(alibi=True)`, the `pretrain bert` default)

`--run DIR` scores the model of a finished `pretrain bert` run the same way (no training).

Usage (about 6 min per variant of 800 updates on 2 cores; results appended to OUTPUT as JSON lines):

    python benchmarks/mlm_plateau.py --corpus runs/pays_shuf/bert/data/train.txt \\
        --heldout runs/pays_shuf/bert/data/heldout.txt --vocab runs/pays/bert/vocab.txt \\
        --output runs/mlm_plateau.jsonl --variants bert alibi --steps 800
    python benchmarks/mlm_plateau.py ... --run runs/pays_shuf/bert --seq-length 256 --max-predictions 40
"""

import argparse
import collections
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from layers import BACKBONE_SIZES, BertEncoder, SinusoidalPositionEncoding  # noqa: E402
from pretrain.examples.bert_examples import bert_dataset  # noqa: E402
from pretrain.objectives.bert_pretrainer import BertPretrainer, features_to_inputs  # noqa: E402
from pretrain.objectives.pretrained import load_pretrained  # noqa: E402
from pretrain.text.tokenizer import MASK_ID, WordPieceTokenizer  # noqa: E402
from pretrain.training.optimizer import compile_pretrainer  # noqa: E402
from pretrain.training.pretrain_config import TrainingConfig  # noqa: E402

VARIANTS = {
    "bert": {},
    "normalize-first": {"normalize_first": True},
    "dropout0": {"dropout": 0.0},
    "sinusoid-positions": {},
    "alibi": {"alibi": True},
}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True, help="training text, lines format")
    parser.add_argument("--heldout", required=True, help="held-out text, lines format")
    parser.add_argument("--vocab", required=True, help="WordPiece vocab.txt")
    parser.add_argument("--output", required=True, help="JSON-lines file the results are appended to")
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=["bert", "alibi"])
    parser.add_argument("--preset", choices=sorted(BACKBONE_SIZES), default="tiny")
    parser.add_argument("--steps", type=int, default=800, help="updates per variant")
    parser.add_argument("--every", type=int, default=200, help="updates between held-out scores")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--max-predictions", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--eval-batches", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", metavar="DIR", help="score this finished `pretrain bert` run instead of training")
    return parser.parse_args(argv)


def masked_batches(path, tokenizer, args, seed):
    dataset = bert_dataset(path, tokenizer, seq_length=args.seq_length, max_predictions=args.max_predictions,
                           masking="whole-word", nsp=False, seed=seed)
    return dataset.repeat().batch(args.batch_size, drop_remainder=True).map(features_to_inputs)


def build_model(variant, vocabulary_size, args):
    backbone = BertEncoder(vocabulary_size=vocabulary_size, name="backbone", **BACKBONE_SIZES[args.preset],
                           **VARIANTS[variant])
    model = BertPretrainer(backbone, nsp=False)
    if variant == "sinusoid-positions":
        table = backbone.embeddings_layer.position_embedding.position_embeddings
        sinusoids = keras.ops.convert_to_numpy(SinusoidalPositionEncoding()(np.zeros((1, *table.shape), "float32")))[0]
        table.assign(sinusoids / sinusoids.std() * 0.02)
    return model


def at_mask_inputs(x, y):
    """`[batch, predictions]` bool: the predicted positions whose input held `[MASK]`."""
    inputs = np.take_along_axis(np.asarray(x["token_ids"]), np.asarray(x["mask_positions"]), axis=1)
    return (np.asarray(y["mlm_weights"]) > 0) & (inputs == MASK_ID)


def accuracy_at_mask_inputs(model, batches):
    """Share of held-out predictions right where the input held `[MASK]`."""
    right = total = 0
    for x, y in batches:
        features = model(x, training=False)["mlm_features"]
        predicted = keras.ops.convert_to_numpy(model.mlm_head.logits(features)).argmax(-1)
        at_mask = at_mask_inputs(x, y)
        right += int(((predicted == np.asarray(y["mlm_ids"])) & at_mask).sum())
        total += int(at_mask.sum())
    return right / max(total, 1)


def unigram_accuracy(train_batches, heldout_batches):
    """Always answering the training sample's most frequent masked token, scored like the model."""
    counts = collections.Counter()
    for _, y in train_batches:
        counts.update(np.asarray(y["mlm_ids"])[np.asarray(y["mlm_weights"]) > 0].tolist())
    most_frequent = counts.most_common(1)[0][0]
    right = total = 0
    for x, y in heldout_batches:
        at_mask = at_mask_inputs(x, y)
        right += int(((np.asarray(y["mlm_ids"]) == most_frequent) & at_mask).sum())
        total += int(at_mask.sum())
    return right / max(total, 1)


def run_variant(variant, tokenizer, heldout, args):
    keras.utils.set_random_seed(args.seed)
    train = masked_batches(args.corpus, tokenizer, args, args.seed).prefetch(4)
    model = build_model(variant, tokenizer.vocabulary_size, args)
    compile_pretrainer(model, TrainingConfig(steps=args.steps, batch_size=args.batch_size,
                                             learning_rate=args.learning_rate, seed=args.seed))
    curve, start = [], time.time()
    for round_number in range(1, args.steps // args.every + 1):
        model.fit(train, steps_per_epoch=args.every, epochs=1, verbose=0)
        curve.append([round_number * args.every, round(accuracy_at_mask_inputs(model, heldout), 4)])
        print(f"{variant}: {curve[-1][0]} updates, held-out accuracy at [MASK] {curve[-1][1]:.4f} "
              f"({time.time() - start:.0f} s)", flush=True)
    return curve


def main(argv=None):
    args = parse_arguments(argv)
    tokenizer = WordPieceTokenizer(args.vocab)
    heldout = list(masked_batches(args.heldout, tokenizer, args, args.seed + 1).take(args.eval_batches))
    baseline = unigram_accuracy(masked_batches(args.corpus, tokenizer, args, args.seed).take(args.eval_batches),
                                heldout)
    print(f"unigram baseline: held-out accuracy at [MASK] {baseline:.4f}")
    if args.run:
        model = load_pretrained(args.run).model
        if not isinstance(model, BertPretrainer):
            raise SystemExit(f"--run {args.run}: not the output of `pretrain bert` (its model is {type(model).__name__})")
        results = [{"run": args.run, "accuracy": round(accuracy_at_mask_inputs(model, heldout), 4)}]
        print(f"{args.run}: held-out accuracy at [MASK] {results[0]['accuracy']:.4f}")
    else:
        results = [{"variant": variant, "curve": run_variant(variant, tokenizer, heldout, args)}
                   for variant in args.variants]
    with open(args.output, "a", encoding="utf-8") as file:
        for result in results:
            file.write(json.dumps({**result, "unigram": round(baseline, 4), "settings": vars(args)}) + "\n")
    print(f"results appended to {args.output}")


if __name__ == "__main__":
    main()
