"""Co-occurrence counting: exact 1/d counts across chunks, spills and bounded fan-in merges."""

import collections
import os

import numpy as np

import pretrain.embeddings.cooccurrence as cooccurrence
from pretrain.embeddings.cooccurrence import CooccurrenceCounter


def brute_force(ids, documents, window):
    counts = collections.defaultdict(float)
    for i in range(len(ids)):
        for distance in range(1, window + 1):
            j = i + distance
            if j < len(ids) and documents[i] == documents[j]:
                counts[ids[i], ids[j]] += 1.0 / distance
                counts[ids[j], ids[i]] += 1.0 / distance
    return counts


def test_spilled_and_merged_counts_equal_brute_force(tmp_path, monkeypatch):
    monkeypatch.setattr(cooccurrence, "MERGE_BLOCK", 7)  # many merge rounds
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 30, 4000)
    documents = np.repeat(np.arange(40), 100)
    counter = CooccurrenceCounter(30, window=4, directory=str(tmp_path), memory_entries=60, max_fan_in=3)
    for start in range(0, len(ids), 37):  # chunks that split windows and documents
        counter.add(ids[start : start + 37], documents[start : start + 37])
    spilled = len(counter.shards)
    shard = counter.finish()
    assert spilled > 9  # enough shards for two merge generations with fan-in 3
    rows, columns, values = shard.load()
    expected = brute_force(ids, documents, 4)
    got = {(r, c): v for r, c, v in zip(rows.tolist(), columns.tolist(), values.tolist())}
    assert got.keys() == expected.keys()
    assert max(abs(got[key] - value) for key, value in expected.items()) < 1e-3
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(shard.path) + s for s in (".keys", ".values")])
