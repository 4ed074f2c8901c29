"""Word vectors against gensim on gensim's Wikipedia sample, measured in the same run.

Trains gensim `Word2Vec` (workers = cores) and our skip-gram and CBOW with
identical hyperparameters (gensim's defaults: dim 100, window 5, negative 5,
min_count 5, sample 1e-3, 5 epochs, lr 0.025 -> 1e-4) on the same tokens,
then our GloVe, and prints training words/s (vocabulary building excluded for
both; our figure includes tracing the step), the ratio to gensim,
WordSim-353 Spearman and analogy accuracy. The machine may be shared, so
each pair runs `--repeats` times alternating gensim and ours (run r with seed r
for both: on 400k words a score depends on the seed), and the process
CPU seconds (all threads) are printed beside the wall-clock seconds: words per
CPU-second compares the work each does, whatever else the cores are running.
The last rows per architecture are medians of the ratios and means of the scores.

    .venv/bin/python benchmarks/embeddings.py [--epochs 5] [--repeats 3] [--skip-glove]
"""

import argparse
import os
import resource
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from gensim.models import Word2Vec  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402

from pretrain.embeddings.glove import GloVeConfig, GloVeTrainer  # noqa: E402
from pretrain.embeddings.word2vec import Word2VecConfig, Word2VecTrainer  # noqa: E402
from pretrain.embeddings.word_corpus import EncodedCorpus  # noqa: E402
from pretrain.embeddings.word_tokenize import tokenize_document  # noqa: E402
from pretrain.embeddings.word_vector_eval import evaluate  # noqa: E402
from pretrain.embeddings.word_vectors import WordVectors  # noqa: E402
from pretrain.text.corpus import read_documents  # noqa: E402

WIKI = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


def cpu_seconds():
    """User + system CPU time of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def gensim_word2vec(sentences, architecture, epochs, seed):
    model = Word2Vec(sg=int(architecture == "skipgram"), workers=os.cpu_count(), epochs=epochs, seed=seed)
    model.build_vocab(sentences)
    start, cpu_start = time.perf_counter(), cpu_seconds()
    model.train(sentences, total_examples=len(sentences), epochs=epochs)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    words = sum(map(len, sentences)) * epochs
    return WordVectors(list(model.wv.index_to_key), model.wv.vectors), words, seconds, cpu


def ours_word2vec(corpus, architecture, epochs, seed):
    trainer = Word2VecTrainer(Word2VecConfig(architecture=architecture, epochs=epochs, seed=seed), corpus)
    cpu_start = cpu_seconds()
    vectors = trainer.train(verbose=False)
    return vectors, corpus.num_tokens * epochs, trainer.seconds, cpu_seconds() - cpu_start


def print_row(name, seconds, cpu, rate, ratio, cpu_ratio, wordsim, analogy):
    print(f"{name:<24}{seconds:>8.1f}{cpu:>8.1f}{rate:>12,.0f}{ratio:>10.2f}x{cpu_ratio:>10.2f}x"
          f"{wordsim:>12.3f}{analogy:>9.3f}", flush=True)


def compare_word2vec(corpus, sentences, architecture, epochs, repeats):
    """Alternate gensim and ours `repeats` times, run r with seed r for both (so the mean scores average over
    seeds); print each run, then medians of ratios and means of scores."""
    runs = {"gensim": [], "ours": []}
    for seed in range(1, repeats + 1):
        for name, run in (("gensim", lambda: gensim_word2vec(sentences, architecture, epochs, seed)),
                          ("ours", lambda: ours_word2vec(corpus, architecture, epochs, seed))):
            vectors, words, seconds, cpu = run()
            scores = evaluate(vectors)
            runs[name].append((words / seconds, words / cpu, scores["wordsim353_spearman"], scores["analogy_accuracy"]))
            reference = runs["gensim"][-1]
            print_row(f"{name} {architecture}", seconds, cpu, words / seconds, words / seconds / reference[0],
                      words / cpu / reference[1], scores["wordsim353_spearman"], scores["analogy_accuracy"])
    for name in ("gensim", "ours"):
        ratios = [(ours[0] / gensim[0], ours[1] / gensim[1]) for ours, gensim in zip(runs[name], runs["gensim"])]
        print(f"{name + ' ' + architecture + ' (median/mean)':<40}{statistics.median(r[0] for r in runs[name]):>12,.0f}"
              f"{statistics.median(r[0] for r in ratios):>10.2f}x{statistics.median(r[1] for r in ratios):>10.2f}x"
              f"{statistics.mean(r[2] for r in runs[name]):>12.3f}{statistics.mean(r[3] for r in runs[name]):>9.3f}",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each word2vec trainer, alternating")
    parser.add_argument("--skip-glove", action="store_true")
    args = parser.parse_args()
    work = tempfile.mkdtemp()
    corpus = EncodedCorpus.build(read_documents(datapath(WIKI), "wikixml"), work)
    sentences = [tokenize_document(d) for d in read_documents(datapath(WIKI), "wikixml")]
    sentences = [s for s in sentences if s]
    print(f"Wikipedia sample: {corpus.num_tokens:,} words, {corpus.num_documents} documents, {os.cpu_count()} cores")
    print(f"{'trainer':<24}{'seconds':>8}{'cpu s':>8}{'words/s':>12}{'vs gensim':>11}{'per cpu-s':>11}"
          f"{'wordsim353':>12}{'analogy':>9}")
    for architecture in ("skipgram", "cbow"):
        compare_word2vec(corpus, sentences, architecture, args.epochs, args.repeats)
    if not args.skip_glove:
        trainer = GloVeTrainer(GloVeConfig(), corpus, work)
        vectors = trainer.train(verbose=False)
        scores = evaluate(vectors)
        rate = corpus.num_tokens / trainer.seconds
        print(f"{'ours glove (15 ep)':<24}{trainer.seconds:>8.1f}{'':>8}{rate:>12,.0f}{'':>22}"
              f"{scores['wordsim353_spearman']:>12.3f}{scores['analogy_accuracy']:>9.3f}")


if __name__ == "__main__":
    main()
