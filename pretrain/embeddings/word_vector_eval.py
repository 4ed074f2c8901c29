"""Word-vector quality on the benchmarks shipped in gensim's wheel.

Spearman correlation with human similarity judgements (WordSim-353,
SimLex-999), accuracy on the Google analogy questions
(`questions-words.txt`), and nearest neighbours. Pairs and questions with
words outside the vocabulary are skipped (their share is reported).

Example:

>>> import numpy as np
>>> from pretrain.embeddings.word_vectors import WordVectors
>>> vectors = WordVectors(["cat", "dog", "car"], np.array([[1, 0], [0.9, 0.1], [0, 1]], np.float32))
>>> nearest_neighbours(vectors, ["cat"], topn=1)
{'cat': ['dog']}
"""

import logging

from gensim.test.utils import datapath

BENCHMARKS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
PROBE_WORDS = ("king", "war", "city", "music", "computer", "france")


def evaluate(vectors):
    """Dict of metric -> value: `<benchmark>_spearman`, `<benchmark>_oov`, `analogy_accuracy`, `analogy_coverage`."""
    keyed = vectors.keyed_vectors()
    results = {}
    logging.getLogger("gensim").setLevel(logging.ERROR)
    for name, filename in BENCHMARKS.items():
        _, spearman, oov = keyed.evaluate_word_pairs(datapath(filename))
        results[f"{name}_spearman"] = float(spearman.statistic)
        results[f"{name}_oov_percent"] = float(oov)
    accuracy, sections = keyed.evaluate_word_analogies(datapath("questions-words.txt"))
    total = sections[-1]
    results["analogy_accuracy"] = float(accuracy)
    results["analogy_questions"] = len(total["correct"]) + len(total["incorrect"])
    return results


def nearest_neighbours(vectors, words=PROBE_WORDS, topn=8):
    """Dict word -> its `topn` nearest words by cosine (words missing from the vocabulary are left out)."""
    keyed = vectors.keyed_vectors()
    return {word: [w for w, _ in keyed.most_similar(word, topn=topn)] for word in words if word in keyed}


def format_report(results, neighbours):
    lines = [
        f"wordsim353 Spearman {results['wordsim353_spearman']:.3f} ({results['wordsim353_oov_percent']:.0f}% pairs OOV)",
        f"simlex999  Spearman {results['simlex999_spearman']:.3f} ({results['simlex999_oov_percent']:.0f}% pairs OOV)",
        f"analogies  accuracy {results['analogy_accuracy']:.3f} on {results['analogy_questions']:,} questions in vocabulary",
    ]
    lines += [f"  {word}: {', '.join(near)}" for word, near in neighbours.items()]
    return "\n".join(lines)
