"""A corpus as a stream of WordPiece ids cut into fixed-length windows.

Documents are tokenized one at a time (sentences joined in order), their ids
concatenated into one stream, and the stream cut into consecutive windows of
`length` ids; the last, shorter window is dropped. Pass the training or the
held-out documents (`pretrain.runs.pretrain_run.split_documents`).

Example:

>>> from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
>>> tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + ["a", "b", "c"])
>>> documents = [["a b c", "a b"], ["c c c"]]
>>> [w.tolist() for w in token_windows(documents, tokenizer, 3)]
[[5, 6, 7], [5, 6, 7]]
"""

import numpy as np

from pretrain.errors import UsageError


def token_windows(documents, tokenizer, length):
    """Yields int32 arrays of `length` consecutive token ids.

    Args:
        documents: iterable of documents (lists of sentences).
        tokenizer: a `pretrain.text.tokenizer.WordPieceTokenizer`.
        length: int. Ids per window.
    """
    if length < 1:
        raise UsageError(f"window length must be at least 1, got {length}")
    pending = np.zeros((0,), np.int32)
    for document in documents:
        if not document:
            continue
        ids = tokenizer.tokenize_flat([" ".join(document)]).flat_values.numpy()
        pending = np.concatenate([pending, ids.astype(np.int32)])
        while len(pending) >= length:
            yield pending[:length]
            pending = pending[length:]
