"""A corpus tokenised once into word ids on disk, streamed in chunks every epoch.

The first pass counts words and writes every token as a provisional id
(order of first appearance) to a flat int32 file, with the document lengths
beside it. Memory holds only the word counts, never the corpus, and the corpus
is read from its files once however many epochs follow (gensim needs a
re-iterable corpus object instead, gensim#443). Each epoch maps provisional
ids to vocabulary ids, drops out-of-vocabulary words and subsamples frequent
ones with numpy, a chunk of tokens at a time.

Example:

>>> import tempfile
>>> documents = [["the cat sat on the mat"], ["the dog sat"]]
>>> corpus = EncodedCorpus.build(documents, tempfile.mkdtemp())
>>> corpus.num_tokens, corpus.num_documents, corpus.counts["the"]
(9, 2, 3)
"""

import collections
import os

import numpy as np

from pretrain.embeddings.word_tokenize import tokenize_document
from pretrain.errors import UsageError


class EncodedCorpus:
    """Token ids of a corpus in `directory/tokens.int32`, documents in `documents.int64`.

    Args:
        directory: str. Where the encoded files live.
        counts: dict word -> count, in first-seen order (the provisional ids).
        document_lengths: int64 array of tokens per document.
    """

    def __init__(self, directory, counts, document_lengths):
        self.directory = directory
        self.counts = counts
        self.document_lengths = document_lengths
        self.num_tokens = int(document_lengths.sum())
        self.num_documents = len(document_lengths)

    @classmethod
    def build(cls, documents, directory, progress=None, tokenize=tokenize_document):
        """Tokenise `documents` into `directory`.

        `documents` are lists of sentences, split into words by `tokenize`
        (gensim-style lower-cased words by default); another `tokenize` takes
        documents of another form, e.g. lists of token ids.
        """
        os.makedirs(directory, exist_ok=True)
        provisional = {}
        counts = collections.Counter()
        lengths = []
        with open(os.path.join(directory, "tokens.int32"), "wb") as tokens_file:
            for document in documents:
                words = tokenize(document)
                if not words:
                    continue
                ids = [provisional.setdefault(word, len(provisional)) for word in words]
                counts.update(words)
                np.asarray(ids, np.int32).tofile(tokens_file)
                lengths.append(len(words))
                if progress is not None:
                    progress(len(words))
        if not lengths:
            raise UsageError("The corpus has no words: check --corpus and --corpus-format.")
        ordered_counts = {word: counts[word] for word in provisional}
        return cls(directory, ordered_counts, np.asarray(lengths, np.int64))

    def tokens(self):
        """All provisional ids, memory-mapped (not loaded)."""
        return np.memmap(os.path.join(self.directory, "tokens.int32"), np.int32, mode="r")

    def vocabulary_map(self, vocabulary):
        """Array provisional id -> vocabulary id, -1 for dropped words."""
        index = vocabulary.index()
        return np.array([index.get(word, -1) for word in self.counts], np.int32)

    def chunks(self, id_map, chunk_tokens, keep_probabilities=None, rng=None, shard=(0, 1)):
        """Yield `(ids, document_ids, raw_count)` for consecutive slices of the corpus.

        `ids` are vocabulary ids with dropped and subsampled words removed,
        `document_ids` number documents so windows never cross them, and
        `raw_count` is how many corpus tokens the chunk covered (for words/s and
        the learning-rate schedule). `shard=(index, count)` gives this worker
        every count-th chunk.
        """
        tokens = self.tokens()
        ends = np.cumsum(self.document_lengths)
        shard_index, num_shards = shard
        for number, start in enumerate(range(0, self.num_tokens, chunk_tokens)):
            if number % num_shards != shard_index:
                continue
            stop = min(start + chunk_tokens, self.num_tokens)
            ids = id_map[tokens[start:stop]]
            document_ids = np.searchsorted(ends, np.arange(start, stop), side="right")
            keep = ids >= 0
            if keep_probabilities is not None:
                keep &= rng.random(len(ids)) < keep_probabilities[np.maximum(ids, 0)]
            yield ids[keep], document_ids[keep].astype(np.int32), stop - start
