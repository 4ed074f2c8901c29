"""Does pretraining pay? IMDB (and Rotten Tomatoes) with few labels: pretrained vs random init vs TF-IDF.

The recipe end to end, each stage resumable (rerun the same command after an
interruption: `pretrain bert` resumes from its checkpoint, finished results
are read back from --output):

1. `pretrain bert` (or `--objective electra`) on the corpus of `pretrain
   corpus fetch mix` (the IMDB test half is never in it), with the toolkit's
   defaults apart from the options below; or `--pretrained DIR`, a finished
   run of any `pretrain bert|electra` command, instead.
2. For each label budget and fine-tuning seed, fine-tune with the default
   options of `pretrain finetune classify` (`tasks.finetune_defaults`):
   (a) the pretrained backbone, (b) the same architecture from random
   initialisation with the same settings, (a0) that architecture with only
   the run's starting token embedding (`--token-vectors skipgram`, before any
   masked-LM update) and the rest random; (c) TF-IDF (1-2 grams) + logistic
   regression on the same labels.
3. Print the table (mean ± std over the seeds) and write OUTPUT/results.json.

The labelled reviews are the first N of `train.csv` (sorted by text hash, so
a random sample); the test subset is the first --test-size of `test.csv`.

  .venv/bin/pretrain corpus fetch mix --output corpora
  .venv/bin/python benchmarks/pretraining_pays.py --corpora corpora --output runs/pays
  .venv/bin/python benchmarks/pretraining_pays.py --corpora corpora --output runs/pays_electra \
      --pretrained runs/electra
"""

import argparse
import dataclasses
import glob
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

# Pretraining options of the measured recipe (everything else: the command's defaults).
RECIPE = [
    "--preset", "tiny", "--batch-size", "64", "--seq-length", "128", "--vocab-size", "16000",
    "--learning-rate", "1e-3", "--masking", "whole-word", "--checkpoint-every", "500",
    "--eval-batches", "10",
]
# ELECTRA has no next-sentence prediction to drop.
OBJECTIVE_OPTIONS = {"bert": ["--no-nsp"], "electra": []}


# (a) the pretrained backbone, (b) random initialisation, (a0) the skip-gram token embedding alone.
MODELS = ("pretrained", "random_init", "token_vectors_only")


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", required=True, help="the --output of `pretrain corpus fetch mix`")
    parser.add_argument("--output", required=True, help="directory for the pretraining run and the results")
    parser.add_argument("--objective", choices=sorted(OBJECTIVE_OPTIONS), default="bert",
                        help="the pretraining command: `pretrain bert` (whole-word masked LM) or `pretrain electra`")
    parser.add_argument("--pretrained", metavar="DIR",
                        help="fine-tune this finished `pretrain bert|electra` run instead of pretraining one")
    parser.add_argument("--pretrain-steps", type=int, default=6000, help="updates of the pretraining command")
    parser.add_argument("--pretrain-corpus", nargs="+", default=["*"],
                        help="sources of --corpora to pretrain on (default: all of them)")
    parser.add_argument("--labels", type=int, nargs="+", default=[1000, 5000], help="IMDB label budgets")
    parser.add_argument("--test-size", type=int, default=5000, help="IMDB test reviews scored")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="fine-tuning seeds")
    parser.add_argument("--rotten-tomatoes", type=int, nargs=2, default=[4000, 1000], metavar=("TRAIN", "TEST"),
                        help="Rotten Tomatoes train and test snippets; 0 0 skips the task")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), help="models fine-tuned")
    parser.add_argument("--pretrain-options", nargs=argparse.REMAINDER, default=[],
                        help="more pretraining options, after the recipe's (last)")
    return parser.parse_args(argv)


def pretrain(args):
    import cli

    if args.pretrained:
        if not os.path.isfile(os.path.join(args.pretrained, "metrics.json")):
            raise SystemExit(f"--pretrained {args.pretrained}: not a finished pretraining run (no metrics.json)")
        return args.pretrained
    run_dir = os.path.join(args.output, args.objective)
    corpus = sorted(path for name in args.pretrain_corpus
                    for path in glob.glob(os.path.join(args.corpora, name, "pretrain")))
    if not corpus:
        raise SystemExit(f"no pretraining text under {args.corpora}: run `pretrain corpus fetch mix --output {args.corpora}`")
    status = cli.main([args.objective, "--corpus", *corpus, "--corpus-format", "prose", "--output", run_dir,
                       "--steps", str(args.pretrain_steps), *RECIPE, *OBJECTIVE_OPTIONS[args.objective],
                       *args.pretrain_options])
    if status:
        raise SystemExit(status)
    return run_dir


def fine_tune(run_dir, train, test, seed, model):
    """Test accuracy of the default fine-tuning recipe from `run_dir` as `model` (one of MODELS)."""
    from pretrain.runs.pretrain_run import INITIAL_TOKEN_EMBEDDING
    from tasks.finetuning import FinetuneConfig, build_classifier, finetune_setup, reinitialise_backbone

    loaded, config = finetune_setup(run_dir, FinetuneConfig(seed=seed), train[0])
    classifier = build_classifier(loaded, ["0", "1"], config, train_examples=len(train[0]))
    if model != "pretrained":  # same architecture, head and settings; fresh backbone weights
        reinitialise_backbone(classifier, seed)
    if model == "token_vectors_only":
        classifier.backbone.token_embedding.embeddings.assign(np.load(os.path.join(run_dir, INITIAL_TOKEN_EMBEDDING)))
    classifier.fit(train[0], train[1], epochs=config.epochs, batch_size=config.batch_size, verbose=0)
    accuracy = float(classifier.evaluate(test[0], test[1], batch_size=64, verbose=0)[1])
    return accuracy, dataclasses.asdict(config)


def tfidf_accuracy(train, test):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    model = LogisticRegression(max_iter=1000, C=4.0).fit(vectorizer.fit_transform(train[0]), train[1])
    return float(model.score(vectorizer.transform(test[0]), test[1]))


def tasks(args):
    """{task name: (train, test)}, each a (texts, labels) pair."""
    from pretrain.text.imdb_split import load_imdb

    train, test = load_imdb(args.corpora, "train"), load_imdb(args.corpora, "test")
    test = (test[0][: args.test_size], test[1][: args.test_size])
    chosen = {f"IMDB, {n:,} labels": ((train[0][:n], train[1][:n]), test) for n in args.labels}
    if args.rotten_tomatoes[0]:
        from pretrain.text.rotten_tomatoes import load_rotten_tomatoes

        data = load_rotten_tomatoes(args.corpora, max_train=args.rotten_tomatoes[0], max_test=args.rotten_tomatoes[1])
        chosen[f"Rotten Tomatoes, {len(data[0]):,} labels"] = (data[:2], data[2:])
    return chosen


def measure(args, run_dir, results_path):
    """Every (task, model, seed) accuracy; finished ones are read back from `results_path`."""
    results = {}
    if os.path.exists(results_path):
        with open(results_path, encoding="utf-8") as file:
            results = json.load(file)
    for task, (train, test) in tasks(args).items():
        entry = results.setdefault(task, {"test_size": len(test[0])})
        if "tfidf" not in entry:
            entry["tfidf"] = tfidf_accuracy(train, test)
        for model in args.models:
            runs = entry.setdefault(model, {})
            for seed in args.seeds:
                if str(seed) in runs:
                    continue
                start = time.time()
                accuracy, config = fine_tune(run_dir, train, test, seed, model)
                runs[str(seed)] = accuracy
                entry["finetune_config"] = config
                print(f"{task}: {model}, seed {seed}: {accuracy:.4f} ({time.time() - start:.0f} s)", flush=True)
                with open(results_path, "w", encoding="utf-8") as file:
                    json.dump(results, file, indent=2)
    return results


def table(results, seeds):
    def cell(runs):
        values = [runs[str(seed)] for seed in seeds if str(seed) in runs]
        if not values:
            return "-", float("nan")
        return f"{np.mean(values):.3f} ± {np.std(values):.3f}", float(np.mean(values))

    lines = ["| task | test texts | (a) pretrained | (b) random init | (a) - (b) | (a0) token vectors only "
             "| (c) TF-IDF + LR |", "|---|---|---|---|---|---|---|"]
    for task, entry in results.items():
        (a, a_mean), (b, b_mean) = cell(entry.get("pretrained", {})), cell(entry.get("random_init", {}))
        a0 = cell(entry.get("token_vectors_only", {}))[0]
        lines.append(f"| {task} | {entry['test_size']:,} | {a} | {b} | {100 * (a_mean - b_mean):+.1f} points | {a0} | "
                     f"{entry['tfidf']:.3f} |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_arguments(argv)
    os.makedirs(args.output, exist_ok=True)
    run_dir = pretrain(args)
    with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as file:
        metrics = json.load(file)
    print(f"pretrained {run_dir}: held-out masked-LM accuracy {metrics.get('val_mlm_accuracy', float('nan')):.3f}"
          + (f", replaced-token accuracy {metrics['val_rtd_accuracy']:.3f} (majority "
             f"{metrics['val_rtd_majority_accuracy']:.3f})" if "val_rtd_accuracy" in metrics else ""))
    results = measure(args, run_dir, os.path.join(args.output, "results.json"))
    print(table(results, args.seeds))


if __name__ == "__main__":
    main()
