"""Shared test data for the pipeline tests: the Wikipedia sample as a `lines` corpus and its vocabulary."""

import functools
import os
import tempfile

from pretrain.text.corpus import read_documents
from pretrain.text.tokenizer import save_vocabulary, train_vocabulary


@functools.lru_cache(maxsize=None)
def write_wiki_lines(wiki_sample_path, vocab_size=8000):
    """Writes wiki.txt (one sentence per line) and vocab.txt once per process; returns their paths."""
    folder = tempfile.mkdtemp(prefix="wiki-lines-")
    documents = list(read_documents(wiki_sample_path, "wikixml"))
    corpus = os.path.join(folder, "wiki.txt")
    with open(corpus, "w", encoding="utf-8") as file:
        file.writelines("\n".join(document) + "\n\n" for document in documents)
    vocabulary = os.path.join(folder, "vocab.txt")
    save_vocabulary(train_vocabulary(documents, vocab_size), vocabulary)
    return corpus, vocabulary
