"""Word tokenisation for word vectors: lowercase runs of letters.

Like gensim's `utils.tokenize(lower=True)`: a token is a maximal run of
Unicode letters (digits, punctuation and underscores split words). Unlike
gensim's `simple_preprocess`/`WikiCorpus` there is no length filter and no
truncation of long texts (gensim#2880): every word of every document is kept.

Example:

>>> tokenize_words("Hello, World! It's 2024; naïve café.")
['hello', 'world', 'it', 's', 'naïve', 'café']
"""

import re

_WORD = re.compile(r"[^\W\d_]+")


def tokenize_words(text):
    """Lowercased words of `text`, in order."""
    return _WORD.findall(text.lower())


def tokenize_document(sentences):
    """All words of a document given as a list of sentences."""
    return _WORD.findall(" ".join(sentences).lower())
