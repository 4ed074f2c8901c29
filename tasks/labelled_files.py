"""Read labelled CSV and CoNLL files, with errors that name the file and line."""

import bz2
import csv
import gzip

from pretrain.errors import UsageError


def open_text(path):
    """Opens plain, .gz or .bz2 text for reading."""
    opener = bz2.open if path.endswith(".bz2") else gzip.open if path.endswith(".gz") else open
    try:
        return opener(path, "rt", encoding="utf-8", newline="")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None


def read_csv_columns(path, columns):
    """{column: list of str} for the named columns (None names are skipped)."""
    wanted = [column for column in columns if column]
    with open_text(path) as file:
        reader = csv.DictReader(file)
        if not reader.fieldnames:
            raise UsageError(f"{path}: the file is empty; it needs a header line and rows.")
        missing = [column for column in wanted if column not in reader.fieldnames]
        if missing:
            raise UsageError(
                f"{path}: no column {', '.join(map(repr, missing))}; the header has {', '.join(reader.fieldnames)}."
            )
        values = {column: [] for column in wanted}
        for row in reader:
            for column in wanted:
                values[column].append(row[column] or "")
    if not values[wanted[0]]:
        raise UsageError(f"{path}: the header is there but no rows follow.")
    return values


def read_conll(path):
    """CoNLL-style tagging data: `word ... tag` per line, blank line between
    sentences, `-DOCSTART-` lines ignored. Returns (sentences, tag lists)."""
    sentences, tags, words, word_tags = [], [], [], []
    with open_text(path) as file:
        for line_number, line in enumerate(file, start=1):
            fields = line.split()
            if not fields or fields[0] == "-DOCSTART-":
                if words:
                    sentences.append(words)
                    tags.append(word_tags)
                words, word_tags = [], []
                continue
            if len(fields) < 2:
                raise UsageError(f"{path}:{line_number}: expected 'word ... tag', got {line.strip()!r}.")
            words.append(fields[0])
            word_tags.append(fields[-1])
    if words:
        sentences.append(words)
        tags.append(word_tags)
    if not sentences:
        raise UsageError(f"{path}: no sentences; expected 'word tag' lines separated by blank lines.")
    return sentences, tags


def label_ids(labels, label_names, path, what="label"):
    """Maps label strings to ids; a label unknown to training is an error naming it."""
    index = {name: i for i, name in enumerate(label_names)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise UsageError(
            f"{path}: {what}(s) {', '.join(map(repr, unknown[:5]))} never occur in the training file; "
            "the model cannot predict them. Add examples to --train or drop those rows."
        )
    return [index[label] for label in labels]
