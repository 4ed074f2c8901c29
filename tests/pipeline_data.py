"""Shared test data for the pipeline tests: the Wikipedia sample as a `lines` corpus and its vocabulary."""

import os

from pretrain.corpus import read_documents
from pretrain.tokenizer import save_vocabulary, train_vocabulary


def write_wiki_lines(wiki_sample_path, folder, vocab_size=8000):
    """Writes folder/wiki.txt (one sentence per line) and folder/vocab.txt; returns their paths."""
    documents = list(read_documents(wiki_sample_path, "wikixml"))
    corpus = os.path.join(folder, "wiki.txt")
    with open(corpus, "w", encoding="utf-8") as file:
        file.writelines("\n".join(document) + "\n\n" for document in documents)
    vocabulary = os.path.join(folder, "vocab.txt")
    save_vocabulary(train_vocabulary(documents, vocab_size), vocabulary)
    return corpus, vocabulary
