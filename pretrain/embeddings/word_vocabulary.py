"""The word vocabulary of a word-vector trainer and the sampling tables it implies.

Words are sorted by descending count (ties by first appearance in the corpus,
like gensim), so id 0 is the most frequent word.

Example:

>>> vocabulary = WordVocabulary.from_counts({"a": 5, "b": 2, "c": 1}, min_count=2)
>>> vocabulary.words, vocabulary.counts.tolist()
(['a', 'b'], [5, 2])
>>> [round(float(p), 3) for p in vocabulary.keep_probabilities(sample=0.1)]
[0.514, 0.942]
"""

import dataclasses

import numpy as np

from pretrain.errors import UsageError


@dataclasses.dataclass
class WordVocabulary:
    """Words and their corpus counts, most frequent first.

    Args:
        words: list of str. The vocabulary, most frequent first.
        counts: int64 array. Corpus count of each word.
    """

    words: list
    counts: np.ndarray

    @classmethod
    def from_counts(cls, counts, min_count=5, max_vocab=None):
        """Keep words seen at least `min_count` times, at most `max_vocab` of them.

        `counts` is a dict word -> count in first-seen order (a `Counter`
        filled while streaming the corpus keeps that order).
        """
        if min_count < 1:
            raise UsageError(f"--min-count must be >= 1, got {min_count}.")
        if max_vocab is not None and max_vocab < 1:
            raise UsageError(f"--max-vocab must be >= 1, got {max_vocab}.")
        kept = [(word, count) for word, count in counts.items() if count >= min_count]
        kept.sort(key=lambda item: -item[1])  # stable: ties stay in first-seen order
        if max_vocab is not None:
            kept = kept[:max_vocab]
        if not kept:
            most = max(counts.values()) if counts else 0
            raise UsageError(
                f"No word occurs --min-count={min_count} times (the most frequent occurs "
                f"{most} times); lower --min-count or give a larger corpus."
            )
        return cls([word for word, _ in kept], np.array([c for _, c in kept], np.int64))

    def __len__(self):
        return len(self.words)

    def index(self):
        """Dict word -> id."""
        return {word: i for i, word in enumerate(self.words)}

    def keep_probabilities(self, sample=1e-3):
        """P_keep = min(1, sqrt(t/f) + t/f) per word, f = count / total (word2vec's subsampling)."""
        if sample <= 0:
            return np.ones(len(self.words), np.float32)
        ratio = sample / (self.counts / self.counts.sum())
        return np.minimum(1.0, np.sqrt(ratio) + ratio).astype(np.float32)

    def negative_distribution(self, power=0.75):
        """Negative-sampling probabilities, proportional to count ** power."""
        weights = self.counts.astype(np.float64) ** power
        return (weights / weights.sum()).astype(np.float32)

    def save(self, path):
        with open(path, "w", encoding="utf-8") as file:
            for word, count in zip(self.words, self.counts.tolist()):
                file.write(f"{word}\t{count}\n")

    @classmethod
    def load(cls, path):
        words, counts = [], []
        with open(path, encoding="utf-8") as file:
            for line in file:
                word, count = line.rstrip("\n").split("\t")
                words.append(word)
                counts.append(int(count))
        return cls(words, np.array(counts, np.int64))
