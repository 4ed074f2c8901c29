"""Does pretraining learn? BERT and GPT on a corpus against count baselines.

Pretrains a BERT (masked LM + NSP) and then a GPT (causal LM, same vocabulary)
on gensim's Wikipedia sample (206 pages) or on `--corpus`, holding out one
document in `--heldout-every`, and scores both on every held-out example:

- BERT masked-LM accuracy against always guessing the most frequent training
  token (the unigram baseline); NSP accuracy against chance (50%) and against
  always guessing the majority label of the held-out pairs.
- GPT held-out perplexity against add-one unigram and interpolated bigram
  models counted on the training split (the bigram weight is the best of a
  grid on the held-out tokens, which favours the baseline).

Usage (about an hour on 2 cores with the defaults):

    python benchmarks/pretrain_quality.py --output runs/quality
    # a GPT alone on the prose mix of `pretrain corpus fetch mix --output corpora`
    python benchmarks/pretrain_quality.py --output runs/gpt_mix --models gpt --corpus corpora/*/pretrain \
        --corpus-format prose --vocab runs/pays/bert/vocab.txt --gpt-steps 2000 --batch-size 64

Each pretraining run resumes from its checkpoint when the command is rerun.
Prints a table and writes OUTPUT/quality.json.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from pretrain.objectives.pretrained import load_pretrained  # noqa: E402
from pretrain.runs import ngram_baselines  # noqa: E402
from pretrain.runs.pretrain_run import examples_dataset, run_pretraining  # noqa: E402
from pretrain.training.pretrain_config import TokenizerConfig, TrainingConfig, config_class  # noqa: E402


def wiki_sample():
    from gensim.test.utils import datapath

    return datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")


def make_config(model, args):
    cls = config_class(model)
    return cls(
        preset=args.preset,
        tokenizer=TokenizerConfig(vocabulary_size=args.vocab_size),
        data=cls().data.replace(
            corpus=tuple(args.corpus or [wiki_sample()]), corpus_format=args.corpus_format,
            seq_length=args.seq_length, heldout_every=args.heldout_every,
        ),
        training=TrainingConfig(
            steps=args.bert_steps if model == "bert" else args.gpt_steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            checkpoint_every=max(1, (args.bert_steps if model == "bert" else args.gpt_steps) // 5),
            eval_batches=10,
        ),
    ).validated()


def heldout_batches(config, tokenizer, output_dir, features_to_inputs):
    """Every held-out example once (one fixed draw of pairs and masks)."""
    dataset = examples_dataset(
        config, tokenizer, os.path.join(output_dir, "data", "heldout.txt"), seed=1, shuffle_buffer=0
    )
    return [features_to_inputs(batch) for batch in dataset.batch(config.training.batch_size)]


def evaluate_bert(output_dir, config):
    from pretrain.objectives.bert_pretrainer import features_to_inputs

    pretrained = load_pretrained(output_dir)
    model = keras.models.load_model(os.path.join(output_dir, "model.keras"), compile=False)
    model.compile()
    batches = heldout_batches(config, pretrained.tokenizer(), output_dir, features_to_inputs)
    model.reset_metrics()
    for x, y in batches:
        model.compute_loss(x, y, model(x, training=False), training=False)
    unigrams, _ = ngram_baselines.ngram_counts(os.path.join(output_dir, "data", "train.txt"), pretrained.tokenizer())
    mode = ngram_baselines.most_frequent_token(unigrams)
    ids = np.concatenate([np.array(y["mlm_ids"]).ravel() for _, y in batches])
    weights = np.concatenate([np.array(y["mlm_weights"]).ravel() for _, y in batches])
    labels = np.concatenate([np.array(y["nsp_labels"]) for _, y in batches])
    return {
        "heldout_examples": int(len(labels)),
        "heldout_masked_tokens": int(weights.sum()),
        "mlm_accuracy": float(model.mlm_accuracy.result()),
        "mlm_accuracy_unigram_baseline": float((ids == mode)[weights > 0].mean()),
        "mlm_perplexity": float(model.mlm_perplexity.result()),
        "nsp_accuracy": float(model.nsp_accuracy.result()),
        "nsp_majority_baseline": float(max(labels.mean(), 1 - labels.mean())),
    }


def evaluate_gpt(output_dir, config):
    from pretrain.objectives.gpt_pretrainer import features_to_inputs

    pretrained = load_pretrained(output_dir)
    model = keras.models.load_model(os.path.join(output_dir, "model.keras"), compile=False)
    model.compile()
    batches = heldout_batches(config, pretrained.tokenizer(), output_dir, features_to_inputs)
    model.reset_metrics()
    for x, y in batches:
        model.compute_loss(x, y, model(x, training=False), training=False)
    unigrams, bigrams = ngram_baselines.ngram_counts(
        os.path.join(output_dir, "data", "train.txt"), pretrained.tokenizer()
    )
    previous = np.concatenate([np.array(x["token_ids"]).ravel() for x, _ in batches])
    labels = np.concatenate([np.array(y["labels"]).ravel() for _, y in batches])
    bigram = min(
        ngram_baselines.bigram_perplexity(unigrams, bigrams, previous, labels, weight)
        for weight in np.linspace(0.1, 0.95, 18)
    )
    return {
        "heldout_tokens": int(len(labels)),
        "perplexity": float(model.perplexity.result()),
        "perplexity_unigram_baseline": ngram_baselines.unigram_perplexity(unigrams, labels),
        "perplexity_bigram_baseline": bigram,
        "next_token_accuracy": float(model.token_accuracy.result()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True)
    parser.add_argument("--models", nargs="+", choices=["bert", "gpt"], default=["bert", "gpt"])
    parser.add_argument("--corpus", nargs="+", help="corpus paths (default: gensim's Wikipedia sample)")
    parser.add_argument("--corpus-format", help="format of --corpus (default: lines; wikixml for the sample)")
    parser.add_argument("--vocab", help="a vocab.txt for both models (default: BERT's run trains one)")
    parser.add_argument("--preset", default="mini")
    parser.add_argument("--bert-steps", type=int, default=3000)
    parser.add_argument("--gpt-steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--heldout-every", type=int, default=10)
    args = parser.parse_args()
    if args.corpus is None:
        args.corpus_format = "wikixml"
    args.corpus_format = args.corpus_format or "lines"

    results = {"command": " ".join(sys.argv), "settings": vars(args)}
    vocab = args.vocab
    for model, evaluate in (("bert", evaluate_bert), ("gpt", evaluate_gpt)):
        if model not in args.models:
            continue
        run_dir = os.path.join(args.output, model)
        start = time.time()
        config = make_config(model, args)
        run_pretraining(config, run_dir, vocab_file=vocab)
        vocab = os.path.join(run_dir, "vocab.txt")  # the GPT reuses BERT's vocabulary
        results[model] = dict(evaluate(run_dir, config), minutes=(time.time() - start) / 60)
        print(json.dumps(results[model], indent=2), flush=True)

    with open(os.path.join(args.output, "quality.json"), "w") as file:
        json.dump(results, file, indent=2)
    if "bert" in results:
        bert = results["bert"]
        print(f"\nBERT {args.preset}, {args.bert_steps} steps, held-out ({bert['heldout_examples']} examples):")
        print(f"  MLM accuracy {bert['mlm_accuracy']:.3f}  vs unigram baseline {bert['mlm_accuracy_unigram_baseline']:.3f}")
        print(f"  NSP accuracy {bert['nsp_accuracy']:.3f}  vs chance 0.500, majority {bert['nsp_majority_baseline']:.3f}")
    if "gpt" in results:
        gpt = results["gpt"]
        print(f"GPT {args.preset}, {args.gpt_steps} steps, held-out ({gpt['heldout_tokens']} tokens):")
        print(
            f"  perplexity {gpt['perplexity']:.1f}  vs unigram {gpt['perplexity_unigram_baseline']:.1f}, "
            f"bigram {gpt['perplexity_bigram_baseline']:.1f}"
        )


if __name__ == "__main__":
    main()
