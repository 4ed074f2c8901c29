"""Word vectors against gensim on one corpus, measured in the same run.

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

The corpus is gensim's Wikipedia sample by default, or `--corpus PATH ...` in
`--corpus-format` (e.g. the Gutenberg books as prose: long documents), cut to
its first `--max-words` words. Documents are cut into pieces of at most 10,000
words for both trainers: gensim drops the words of a longer sentence beyond its
10,000th, so it would otherwise train on less text than it is credited with.
The fixed costs around our training (importing TensorFlow and the trainer,
loading the fused op, encoding the corpus, building the vocabulary and tables,
exporting, evaluating) are printed separately at the end.

    .venv/bin/python benchmarks/embeddings.py [--epochs 5] [--repeats 3] [--skip-glove]
    .venv/bin/python benchmarks/embeddings.py --corpus runs/corpora/gutenberg/pretrain --corpus-format prose \\
        --max-words 2000000 --skip-glove
"""

import argparse
import os
import resource
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# One BLAS thread: after an evaluation (numpy matrix products) OpenBLAS's idle threads spin and took half the two
# cores from the next training run, gensim's or ours (9.4-9.9 CPU-s for 5 s of training instead of ~4).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

_import_start = time.perf_counter()
from gensim.models import Word2Vec  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402

GENSIM_IMPORT_SECONDS = time.perf_counter() - _import_start
_import_start = time.perf_counter()
from pretrain.embeddings.word2vec import Word2VecConfig, Word2VecTrainer  # noqa: E402

TRAINER_IMPORT_SECONDS = time.perf_counter() - _import_start  # TensorFlow included
from pretrain.embeddings.glove import GloVeConfig, GloVeTrainer  # noqa: E402
from pretrain.embeddings.word2vec_kernel import load_word2vec_kernel  # noqa: E402
from pretrain.embeddings.word_corpus import EncodedCorpus  # noqa: E402
from pretrain.embeddings.word_tokenize import tokenize_document  # noqa: E402
from pretrain.embeddings.word_vector_eval import evaluate  # noqa: E402
from pretrain.embeddings.word_vector_export import export_all  # noqa: E402
from pretrain.embeddings.word_vectors import WordVectors  # noqa: E402
from pretrain.text.corpus import read_documents  # noqa: E402

WIKI = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
GENSIM_SENTENCE_WORDS = 10_000  # gensim's MAX_WORDS_IN_BATCH: longer sentences are truncated


def cpu_seconds():
    """User + system CPU time of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def read_sentences(paths, corpus_format, max_words):
    """Token lists of the corpus, each at most 10,000 words, the first `max_words` words in all."""
    sentences, total = [], 0
    for document in read_documents(paths, corpus_format):
        words = tokenize_document(document)[: max_words - total] if max_words else tokenize_document(document)
        sentences += [words[i: i + GENSIM_SENTENCE_WORDS] for i in range(0, len(words), GENSIM_SENTENCE_WORDS)]
        total += len(words)
        if max_words and total >= max_words:
            break
    return sentences


def gensim_word2vec(sentences, architecture, epochs, seed, costs):
    model = Word2Vec(sg=int(architecture == "skipgram"), workers=os.cpu_count(), epochs=epochs, seed=seed)
    start = time.perf_counter()
    model.build_vocab(sentences)
    costs.setdefault("gensim vocabulary", []).append(time.perf_counter() - start)
    start, cpu_start = time.perf_counter(), cpu_seconds()
    model.train(sentences, total_examples=len(sentences), epochs=epochs)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    words = sum(map(len, sentences)) * epochs
    return WordVectors(list(model.wv.index_to_key), model.wv.vectors), words, seconds, cpu


def ours_word2vec(corpus, architecture, epochs, seed, costs):
    start = time.perf_counter()
    trainer = Word2VecTrainer(Word2VecConfig(architecture=architecture, epochs=epochs, seed=seed), corpus)
    costs.setdefault("ours vocabulary + tables", []).append(time.perf_counter() - start)
    cpu_start = cpu_seconds()
    vectors = trainer.train(verbose=False)
    return vectors, corpus.num_tokens * epochs, trainer.seconds, cpu_seconds() - cpu_start


def print_row(name, seconds, cpu, rate, ratio, cpu_ratio, wordsim, analogy):
    print(f"{name:<24}{seconds:>8.1f}{cpu:>8.1f}{rate:>12,.0f}{ratio:>10.2f}x{cpu_ratio:>10.2f}x"
          f"{wordsim:>12.3f}{analogy:>9.3f}", flush=True)


def compare_word2vec(corpus, sentences, architecture, epochs, repeats, costs):
    """Alternate gensim and ours `repeats` times, run r with seed r for both (so the mean scores average over
    seeds); print each run, then medians of ratios and means of scores. Returns ours' last vectors."""
    runs = {"gensim": [], "ours": []}
    for seed in range(1, repeats + 1):
        for name, run in (("gensim", lambda: gensim_word2vec(sentences, architecture, epochs, seed, costs)),
                          ("ours", lambda: ours_word2vec(corpus, architecture, epochs, seed, costs))):
            vectors, words, seconds, cpu = run()
            start = time.perf_counter()
            scores = evaluate(vectors)
            costs.setdefault(f"{name} evaluation", []).append(time.perf_counter() - start)
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
    return vectors


def print_fixed_costs(costs):
    """Median seconds of each cost around training, ours and gensim's."""
    print("fixed costs (median seconds):")
    for name, seconds in costs.items():
        print(f"  {name:<40}{statistics.median(seconds):>8.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+", help="files or directories (default: gensim's Wikipedia sample)")
    parser.add_argument("--corpus-format", default="prose", help="of --corpus: lines, prose or wikixml")
    parser.add_argument("--max-words", type=int, default=0, help="train on the first N words (default: all)")
    parser.add_argument("--architectures", nargs="+", default=["skipgram", "cbow"], choices=["skipgram", "cbow"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each word2vec trainer, alternating")
    parser.add_argument("--skip-glove", action="store_true")
    args = parser.parse_args()
    paths, corpus_format = (args.corpus, args.corpus_format) if args.corpus else (datapath(WIKI), "wikixml")
    costs = {"gensim import": [GENSIM_IMPORT_SECONDS], "ours import (TensorFlow, trainer)": [TRAINER_IMPORT_SECONDS]}
    start = time.perf_counter()
    load_word2vec_kernel()
    costs["ours fused op load"] = [time.perf_counter() - start]
    work = tempfile.mkdtemp()
    sentences = [s for s in read_sentences(paths, corpus_format, args.max_words) if s]
    start = time.perf_counter()
    corpus = EncodedCorpus.build(sentences, work, tokenize=list)
    costs["ours corpus encoding (tokens read)"] = [time.perf_counter() - start]
    print(f"{paths if args.corpus else 'Wikipedia sample'}: {corpus.num_tokens:,} words, {len(sentences):,} "
          f"documents of at most {GENSIM_SENTENCE_WORDS:,} words, {os.cpu_count()} cores")
    print(f"{'trainer':<24}{'seconds':>8}{'cpu s':>8}{'words/s':>12}{'vs gensim':>11}{'per cpu-s':>11}"
          f"{'wordsim353':>12}{'analogy':>9}")
    for architecture in args.architectures:
        vectors = compare_word2vec(corpus, sentences, architecture, args.epochs, args.repeats, costs)
    start = time.perf_counter()
    export_all(vectors, tempfile.mkdtemp())
    costs["ours export (txt, bin, projector, SavedModel)"] = [time.perf_counter() - start]
    print_fixed_costs(costs)
    if not args.skip_glove:
        trainer = GloVeTrainer(GloVeConfig(), corpus, work)
        vectors = trainer.train(verbose=False)
        scores = evaluate(vectors)
        rate = corpus.num_tokens / trainer.seconds
        print(f"{'ours glove (15 ep)':<24}{trainer.seconds:>8.1f}{'':>8}{rate:>12,.0f}{'':>22}"
              f"{scores['wordsim353_spearman']:>12.3f}{scores['analogy_accuracy']:>9.3f}")


if __name__ == "__main__":
    main()
