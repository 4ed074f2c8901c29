"""Trained word vectors: the words, their vectors and, for fastText, how to build unseen words.

Example:

>>> import numpy as np
>>> vectors = WordVectors(["king", "queen", "apple"], np.eye(3, dtype=np.float32))
>>> vectors["queen"].tolist()
[0.0, 1.0, 0.0]
>>> vectors.keyed_vectors().most_similar("king", topn=1)[0][0] in {"queen", "apple"}
True
"""

import numpy as np


class WordVectors:
    """Vectors of a vocabulary.

    Args:
        words: list of str, the vocabulary (most frequent first).
        vectors: float32 array [len(words), dim].
        subword_vector: optional callable word -> vector for words outside the
            vocabulary (fastText); without it they have no vector.
    """

    def __init__(self, words, vectors, subword_vector=None):
        if len(words) != len(vectors):
            raise ValueError(f"{len(words)} words but {len(vectors)} vectors.")
        self.words = list(words)
        self.vectors = np.asarray(vectors, np.float32)
        self.subword_vector = subword_vector
        self._index = {word: i for i, word in enumerate(self.words)}

    def __contains__(self, word):
        return word in self._index

    def __getitem__(self, word):
        if word in self._index:
            return self.vectors[self._index[word]]
        if self.subword_vector is not None:
            return self.subword_vector(word)
        raise KeyError(f"{word!r} is not in the vocabulary.")

    @property
    def dim(self):
        return self.vectors.shape[1]

    def keyed_vectors(self):
        """A gensim `KeyedVectors` view, for gensim's evaluation and similarity functions."""
        from gensim.models import KeyedVectors

        keyed = KeyedVectors(self.dim, dtype=np.float32)
        keyed.add_vectors(self.words, self.vectors)
        return keyed
