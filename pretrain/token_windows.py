"""A corpus as a stream of WordPiece ids cut into fixed-length windows.

Documents are tokenized one at a time (sentences joined in order), their ids
concatenated into one stream, and the stream cut into consecutive windows of
`length` ids; the last, shorter window of the corpus is dropped. Every
`heldout_every`-th document (0, `heldout_every`, ...) goes to the held-out
split, the others to training, so evaluation never sees training text.

Example:

>>> from pretrain.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
>>> tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + ["a", "b", "c"])
>>> documents = [["a b c a b"], ["c c c"], ["b b"]]
>>> [w.tolist() for w in token_windows(documents, tokenizer, 3, "train", heldout_every=2)]
[[7, 7, 7]]
>>> [w.tolist() for w in token_windows(documents, tokenizer, 3, "heldout", heldout_every=2)]
[[5, 6, 7], [5, 6, 6]]
"""

import numpy as np

from pretrain.errors import UsageError

SPLITS = ("train", "heldout")


def token_windows(documents, tokenizer, length, split="train", heldout_every=20):
    """Yields int32 arrays of `length` consecutive token ids from `split`.

    Args:
        documents: iterable of documents (lists of sentences).
        tokenizer: a `pretrain.tokenizer.WordPieceTokenizer`.
        length: int. Ids per window.
        split: `"train"` or `"heldout"`.
        heldout_every: int. Document `i` is held out when `i % heldout_every == 0`.
    """
    if split not in SPLITS:
        raise UsageError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    if length < 1:
        raise UsageError(f"window length must be at least 1, got {length}")
    pending = np.zeros((0,), np.int32)
    for index, document in enumerate(documents):
        if (index % heldout_every == 0) != (split == "heldout") or not document:
            continue
        ids = tokenizer.tokenize_flat([" ".join(document)]).flat_values.numpy()
        pending = np.concatenate([pending, ids.astype(np.int32)])
        while len(pending) >= length:
            yield pending[:length]
            pending = pending[length:]
