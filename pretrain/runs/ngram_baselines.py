"""Count-based baselines that a pretrained model must beat on held-out text.

- Masked LM: always guess the most frequent training token (the unigram mode).
- Causal LM: unigram and interpolated bigram models estimated on the training
  split with add-one smoothing, scored on exactly the held-out label tokens the
  model is scored on.

Example:

>>> import numpy as np
>>> counts = np.array([0, 0, 0, 0, 0, 6, 2])
>>> int(most_frequent_token(counts))
5
>>> round(unigram_perplexity(counts, np.array([5, 6])), 3)
3.273
"""

import numpy as np

from pretrain.text.corpus import read_documents
from pretrain.text.tokenizer import SEP_ID, SPECIAL_TOKENS


def document_token_ids(path, tokenizer):
    """Token ids of each document of a lines-format file, `[SEP]` appended (the GPT stream)."""
    for document in read_documents(path):
        pieces = tokenizer.tokenize_flat(document).flat_values.numpy()
        yield np.append(pieces, SEP_ID).astype(np.int64)


def unigram_counts(path, tokenizer, documents_per_call=512):
    """Token counts `[V]` of a lines-format file, tokenized many documents per call (no `[SEP]`)."""
    counts = np.zeros(tokenizer.vocabulary_size, np.int64)
    batch = []
    for document in read_documents(path):
        batch.append(" ".join(document))
        if len(batch) == documents_per_call:
            counts += _batch_counts(tokenizer, batch)
            batch = []
    if batch:
        counts += _batch_counts(tokenizer, batch)
    return counts


def _batch_counts(tokenizer, texts):
    ids = tokenizer.tokenize_flat(texts).flat_values.numpy()
    return np.bincount(ids, minlength=tokenizer.vocabulary_size)


def ngram_counts(path, tokenizer):
    """Unigram counts `[V]` and bigram counts `{code: count}` (code = previous * V + next)."""
    vocabulary_size = tokenizer.vocabulary_size
    unigrams = np.zeros(vocabulary_size, np.int64)
    codes = []
    for ids in document_token_ids(path, tokenizer):
        unigrams += np.bincount(ids, minlength=vocabulary_size)
        codes.append(ids[:-1] * vocabulary_size + ids[1:])
    pair_codes, pair_counts = np.unique(np.concatenate(codes), return_counts=True)
    return unigrams, (pair_codes, pair_counts)


def most_frequent_token(unigrams):
    """The most frequent token that is not a special token."""
    counts = np.array(unigrams, copy=True)
    counts[: len(SPECIAL_TOKENS)] = -1
    return int(np.argmax(counts))


def _unigram_probabilities(unigrams):
    return (unigrams + 1.0) / (unigrams.sum() + len(unigrams))


def unigram_perplexity(unigrams, labels):
    """Perplexity of add-one unigram probabilities on `labels`."""
    probabilities = _unigram_probabilities(np.asarray(unigrams, np.float64))
    return float(np.exp(-np.log(probabilities[labels]).mean()))


def bigram_perplexity(unigrams, bigrams, previous, labels, interpolation):
    """Perplexity of `interpolation * P(next | previous) + (1 - interpolation) * P(next)`."""
    unigrams = np.asarray(unigrams, np.float64)
    pair_codes, pair_counts = bigrams
    codes = previous.astype(np.int64) * len(unigrams) + labels
    found = np.searchsorted(pair_codes, codes)
    found = np.minimum(found, len(pair_codes) - 1)
    pair = np.where(pair_codes[found] == codes, pair_counts[found], 0)
    conditional = pair / np.maximum(unigrams[previous], 1.0)
    probabilities = interpolation * conditional + (1 - interpolation) * _unigram_probabilities(unigrams)[labels]
    return float(np.exp(-np.log(probabilities).mean()))
