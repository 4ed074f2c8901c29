"""Skip-gram vectors of a vocabulary's WordPiece tokens, to start a backbone's token embedding from.

A small backbone learns slowly from masked or causal language modelling: after
a CPU-sized budget its token embedding still holds little of the corpus's
word similarities, and fine-tuning from it can do worse than from random
initialisation (docs/finetuning.md). Skip-gram learns those similarities from
the same text in a minute or two. `train_token_vectors` tokenizes the run's
training text with the run's own `WordPieceTokenizer` (the very ids the
backbone reads, `##` pieces and punctuation included), trains skip-gram over
them with the toolkit's word2vec trainer, and returns one row per vocabulary
token; `initial_token_embedding` rescales those rows to the embedding's own
initial scale and keeps the random rows of tokens that never occur.
`pretrain bert|gpt --token-vectors skipgram` (the default) does this before the
first update of a new run.

Example:

>>> import os, tempfile
>>> from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "train.txt")
>>> with open(path, "w") as file:
...     _ = file.write("the cat sat on the mat .\\n\\nthe dog sat on the log .\\n\\n" * 20)
>>> tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + "the cat dog sat on mat log .".split())
>>> vectors = train_token_vectors(path, tokenizer, dim=8, directory=folder, epochs=1)
>>> vectors.shape, bool(np.isnan(vectors[0]).all()), bool(np.isfinite(vectors[5]).all())
((13, 8), True, True)
"""

import logging

import numpy as np
import tensorflow as tf

from pretrain.embeddings.word2vec import Word2VecConfig, Word2VecTrainer
from pretrain.embeddings.word_corpus import EncodedCorpus
from pretrain.text.corpus import read_documents

logger = logging.getLogger(__name__)

# Documents tokenized per call of the in-graph tokenizer.
DOCUMENTS_PER_BATCH = 512


def encode_token_corpus(text_path, tokenizer, directory):
    """The WordPiece ids of a lines-format file as an `EncodedCorpus` whose provisional ids are token ids."""

    def document_ids():
        batch = []
        for document in read_documents(text_path):
            batch.append(" ".join(document))
            if len(batch) == DOCUMENTS_PER_BATCH:
                yield from _tokenized(tokenizer, batch)
                batch = []
        if batch:
            yield from _tokenized(tokenizer, batch)

    vocabulary = tokenizer.vocabulary
    return EncodedCorpus.build(document_ids(), directory, tokenize=lambda ids: [vocabulary[i] for i in ids])


def _tokenized(tokenizer, texts):
    return tokenizer.tokenize_flat(tf.constant(texts)).to_list()


def train_token_vectors(text_path, tokenizer, dim, directory, epochs=3, seed=1, verbose=False):
    """Skip-gram vectors `[vocabulary_size, dim]` of `tokenizer`'s tokens; NaN rows for tokens never seen.

    Args:
        text_path: str. A lines-format text file (the run's `data/train.txt`).
        tokenizer: `pretrain.text.tokenizer.WordPieceTokenizer`.
        dim: int. Vector size (the backbone's `hidden_dim`).
        directory: str. Where the encoded corpus is written.
        epochs: int. Passes over the text. Defaults to 3.
        seed: int. Defaults to 1.
        verbose: bool. Show the trainer's progress line per epoch. Defaults to False.
    """
    corpus = encode_token_corpus(text_path, tokenizer, directory)
    # gensim's skip-gram defaults, except that every token that occurs gets a vector.
    config = Word2VecConfig(architecture="skipgram", dim=dim, min_count=1, epochs=epochs, seed=seed)
    trainer = Word2VecTrainer(config, corpus)
    trained = trainer.train(verbose=verbose)
    logger.info(
        "skip-gram token vectors: %d of %d tokens, %d tokens per epoch, %.0f s",
        len(trained.words), tokenizer.vocabulary_size, corpus.num_tokens, trainer.seconds,
    )
    index = {token: i for i, token in enumerate(tokenizer.vocabulary)}
    vectors = np.full((tokenizer.vocabulary_size, dim), np.nan, np.float32)
    vectors[[index[word] for word in trained.words]] = trained.vectors
    return vectors


def initial_token_embedding(vectors, random_embedding):
    """`vectors` scaled to the standard deviation of `random_embedding`, whose rows fill the NaN rows.

    The rescaling keeps the backbone's initial balance between token,
    position and segment embeddings, and the tied output projection's logits
    at their usual size.
    """
    seen = ~np.isnan(vectors).any(axis=1)
    scale = np.std(random_embedding) / np.std(vectors[seen])
    return np.where(seen[:, None], vectors * scale, random_embedding).astype(np.float32)
