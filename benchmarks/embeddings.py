"""Word vectors against gensim on gensim's Wikipedia sample, measured in the same run.

Trains gensim `Word2Vec` (workers = cores) and our skip-gram and CBOW with
identical hyperparameters (gensim's defaults: dim 100, window 5, negative 5,
min_count 5, sample 1e-3, 5 epochs, lr 0.025 -> 1e-4) on the same tokens,
then our GloVe, and prints training words/s (vocabulary building excluded for
both; our figure includes tracing the step), the ratio to gensim,
WordSim-353 Spearman and analogy accuracy.

    .venv/bin/python benchmarks/embeddings.py [--epochs 5] [--skip-glove]
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from gensim.models import Word2Vec  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402

from pretrain.corpus import read_documents  # noqa: E402
from pretrain.glove import GloVeConfig, GloVeTrainer  # noqa: E402
from pretrain.word2vec import Word2VecConfig, Word2VecTrainer  # noqa: E402
from pretrain.word_corpus import EncodedCorpus  # noqa: E402
from pretrain.word_tokenize import tokenize_document  # noqa: E402
from pretrain.word_vector_eval import evaluate  # noqa: E402
from pretrain.word_vectors import WordVectors  # noqa: E402

WIKI = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


def gensim_word2vec(sentences, architecture, epochs):
    model = Word2Vec(sg=int(architecture == "skipgram"), workers=os.cpu_count(), epochs=epochs, seed=1)
    model.build_vocab(sentences)
    start = time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=epochs)
    seconds = time.perf_counter() - start
    words = sum(map(len, sentences)) * epochs
    return WordVectors(list(model.wv.index_to_key), model.wv.vectors), words / seconds, seconds


def ours_word2vec(corpus, architecture, epochs):
    trainer = Word2VecTrainer(Word2VecConfig(architecture=architecture, epochs=epochs), corpus)
    vectors = trainer.train(verbose=False)
    return vectors, trainer.words_per_second, trainer.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--skip-glove", action="store_true")
    args = parser.parse_args()
    work = tempfile.mkdtemp()
    corpus = EncodedCorpus.build(read_documents(datapath(WIKI), "wikixml"), work)
    sentences = [tokenize_document(d) for d in read_documents(datapath(WIKI), "wikixml")]
    sentences = [s for s in sentences if s]
    print(f"Wikipedia sample: {corpus.num_tokens:,} words, {corpus.num_documents} documents, {os.cpu_count()} cores")
    print(f"{'trainer':<22}{'seconds':>9}{'words/s':>12}{'vs gensim':>11}{'wordsim353':>12}{'analogy':>9}")
    for architecture in ("skipgram", "cbow"):
        reference_rate = None
        for name, run in (("gensim", lambda: gensim_word2vec(sentences, architecture, args.epochs)),
                          ("ours", lambda: ours_word2vec(corpus, architecture, args.epochs))):
            vectors, rate, seconds = run()
            reference_rate = reference_rate or rate
            scores = evaluate(vectors)
            print(f"{name + ' ' + architecture:<22}{seconds:>9.1f}{rate:>12,.0f}{rate / reference_rate:>10.2f}x"
                  f"{scores['wordsim353_spearman']:>12.3f}{scores['analogy_accuracy']:>9.3f}", flush=True)
    if not args.skip_glove:
        trainer = GloVeTrainer(GloVeConfig(), corpus, work)
        vectors = trainer.train(verbose=False)
        scores = evaluate(vectors)
        rate = corpus.num_tokens / trainer.seconds
        print(f"{'ours glove (15 ep)':<22}{trainer.seconds:>9.1f}{rate:>12,.0f}{'':>11}"
              f"{scores['wordsim353_spearman']:>12.3f}{scores['analogy_accuracy']:>9.3f}")


if __name__ == "__main__":
    main()
