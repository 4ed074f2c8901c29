"""Documents as lists of token-id arrays, tokenized in batches with the in-graph tokenizer."""

import numpy as np

from pretrain.text.corpus import read_documents

# Sentences tokenized per tokenizer call: large enough to amortise the call.
_SENTENCES_PER_CALL = 512


def tokenized_documents(
    paths, tokenizer, corpus_format="lines", errors="strict", shard_index=0, num_shards=1
):
    """Yields documents as lists of int32 arrays (one per non-empty sentence), streaming.

    Args:
        paths, corpus_format, errors, shard_index, num_shards: as in
            `pretrain.text.corpus.read_documents`.
        tokenizer: `pretrain.text.tokenizer.WordPieceTokenizer`.
    """
    pending = []
    for document in read_documents(paths, corpus_format, errors, shard_index, num_shards):
        pending.append(document)
        if sum(map(len, pending)) >= _SENTENCES_PER_CALL:
            yield from _tokenize(pending, tokenizer)
            pending = []
    if pending:
        yield from _tokenize(pending, tokenizer)


def _tokenize(documents, tokenizer):
    sentences = [sentence for document in documents for sentence in document]
    pieces = tokenizer.tokenize_flat(sentences)
    ids = np.split(pieces.flat_values.numpy(), pieces.row_splits.numpy()[1:-1])
    start = 0
    for document in documents:
        tokenized = [s for s in ids[start : start + len(document)] if len(s)]
        start += len(document)
        if tokenized:
            yield tokenized
