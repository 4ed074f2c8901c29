"""A corpus split once into `train.txt` and `heldout.txt`, its documents in a shuffled order.

`split_corpus(data, data_dir)` reads the corpus of a run (`data.corpus`,
`data.corpus_format`, `data.errors`) and writes every document, in the lines
format, to one of two files of `data_dir`: document `i` (counting the
non-empty ones in reading order) is held out when
`i % heldout_every == heldout_every - 1`, so a corpus shorter than
`heldout_every` documents has no held-out split.

Within each file the documents are shuffled over the whole corpus, not kept
in reading order. A corpus is often several sources one after another (books,
then reviews, then encyclopaedia articles); an input pipeline that shuffles in
a buffer of a thousand documents would then train on one source at a time and
drift from one to the next, and a held-out sample taken from the start of the
file would hold one source only. The shuffle is an external one with a fixed
seed: each document goes to one of `SHUFFLE_BUCKETS` scratch files at random,
then each bucket is shuffled in memory and appended, so memory holds about
1/64 of the corpus at a time. The same corpus always gives the same files.

The plain-text copy is also what every epoch reads, which spares them
decompressing and parsing the original (e.g. a Wikipedia XML dump). It is
written once: a rerun with the same corpus options reuses it (`split.json`).

Example:

>>> import tempfile, types
>>> directory = tempfile.mkdtemp()
>>> with open(f"{directory}/corpus.txt", "w") as file:
...     _ = file.write("".join(f"Document {i}.\\n\\n" for i in range(6)))
>>> data = types.SimpleNamespace(corpus=(f"{directory}/corpus.txt",), corpus_format="lines",
...                              errors="strict", heldout_every=3)
>>> split_corpus(data, f"{directory}/data")
{'train_documents': 4, 'heldout_documents': 2}
"""

import json
import logging
import os
import random

from pretrain.text.corpus import read_documents

logger = logging.getLogger(__name__)

# Scratch files of the external shuffle; memory holds one of them at a time.
SHUFFLE_BUCKETS = 64
# The shuffle's seed: the split is a function of the corpus alone (runs reseed their own batches).
SHUFFLE_SEED = 0
# Written into split.json: a split made by an older version (in reading order) is made again.
ORDER = "shuffled"


def split_corpus(data, data_dir):
    """Writes the corpus once as `train.txt` and `heldout.txt` (documents shuffled) in `data_dir`.

    Args:
        data: the run's data config: `corpus`, `corpus_format`, `errors`, `heldout_every`.
        data_dir: str. Created if missing.

    Returns:
        dict. `train_documents` and `heldout_documents` counts.
    """
    summary_path = os.path.join(data_dir, "split.json")
    source = {
        "corpus": list(data.corpus),
        "corpus_format": data.corpus_format,
        "errors": data.errors,
        "heldout_every": data.heldout_every,
        "order": ORDER,
    }
    if os.path.isfile(summary_path):
        with open(summary_path, encoding="utf-8") as file:
            summary = json.load(file)
        if summary.get("source") == source:
            return summary["counts"]
    os.makedirs(data_dir, exist_ok=True)
    logger.info(f"Reading the corpus {', '.join(data.corpus)}")
    counts = _write_buckets(read_documents(data.corpus, data.corpus_format, data.errors), data.heldout_every, data_dir)
    rng = random.Random(SHUFFLE_SEED)
    for split in ("train", "heldout"):
        _join_buckets(split, data_dir, rng)
    with open(summary_path, "w", encoding="utf-8") as file:
        json.dump({"source": source, "counts": counts}, file, indent=2)
    logger.info(f"{counts['train_documents']} training and {counts['heldout_documents']} held-out documents")
    return counts


def _bucket_path(data_dir, split, index):
    return os.path.join(data_dir, f"{split}.bucket-{index:02d}.tmp")


def _write_buckets(documents, every, data_dir):
    """Each non-empty document to a random bucket of its split; returns the counts."""
    counts = {"train_documents": 0, "heldout_documents": 0}
    rng = random.Random(SHUFFLE_SEED)
    buckets = {
        split: [open(_bucket_path(data_dir, split, i), "w", encoding="utf-8") for i in range(SHUFFLE_BUCKETS)]
        for split in ("train", "heldout")
    }
    try:
        number = 0
        for document in documents:
            sentences = [" ".join(sentence.split()) for sentence in document]
            sentences = [sentence for sentence in sentences if sentence]
            if not sentences:
                continue
            split = "heldout" if number % every == every - 1 else "train"
            buckets[split][rng.randrange(SHUFFLE_BUCKETS)].write("\n".join(sentences) + "\n\n")
            counts[f"{split}_documents"] += 1
            number += 1
    finally:
        for files in buckets.values():
            for file in files:
                file.close()
    return counts


def _join_buckets(split, data_dir, rng):
    """`split.txt`: the buckets one after another, each shuffled; the buckets are deleted."""
    with open(os.path.join(data_dir, f"{split}.txt"), "w", encoding="utf-8") as output:
        for index in range(SHUFFLE_BUCKETS):
            path = _bucket_path(data_dir, split, index)
            with open(path, encoding="utf-8") as file:
                documents = [document for document in file.read().split("\n\n") if document]
            rng.shuffle(documents)
            output.writelines(document + "\n\n" for document in documents)
            os.remove(path)
