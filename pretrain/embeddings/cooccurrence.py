"""Streaming word co-occurrence counts with bounded memory, as GloVe's `cooccur` tool.

Pairs within `window` words of each other (never across documents) add
1/distance to X[i, j] and X[j, i]. Counts accumulate in memory as sorted
(key, value) arrays, key = i * vocabulary_size + j; beyond `memory_entries`
they are written to sorted shard files, which are merged with at most
`max_fan_in` files open at once (GloVe's cooccur can exceed the limit of
open files, GloVe#193), summing equal keys.

Example:

>>> import tempfile, numpy as np
>>> counter = CooccurrenceCounter(vocabulary_size=3, window=2, directory=tempfile.mkdtemp())
>>> counter.add(np.array([0, 1, 2]), np.array([0, 0, 0]))
>>> rows, columns, values = counter.finish().load()
>>> sorted(zip(rows.tolist(), columns.tolist(), values.tolist()))
[(0, 1, 1.0), (0, 2, 0.5), (1, 0, 1.0), (1, 2, 1.0), (2, 0, 0.5), (2, 1, 1.0)]
"""

import os

import numpy as np

MERGE_BLOCK = 1 << 20  # entries read from each shard per merge round


def _sum_duplicates(keys, values):
    """Sorted unique keys and the summed values of each."""
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse, weights=values).astype(np.float32)


class CooccurrenceShard:
    """Sorted co-occurrence entries in raw files `path.keys` (int64) and `path.values` (float32)."""

    def __init__(self, path, vocabulary_size):
        self.path = path
        self.vocabulary_size = vocabulary_size

    @classmethod
    def write(cls, path, blocks, vocabulary_size):
        """Write `(keys, values)` blocks, already sorted and disjoint, one after another."""
        with open(path + ".keys", "wb") as keys_file, open(path + ".values", "wb") as values_file:
            for keys, values in blocks:
                keys_file.write(np.asarray(keys, np.int64).tobytes())
                values_file.write(np.asarray(values, np.float32).tobytes())
        return cls(path, vocabulary_size)

    def arrays(self):
        """Memory-mapped (keys, values)."""
        if os.path.getsize(self.path + ".keys") == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return (np.memmap(self.path + ".keys", np.int64, mode="r"),
                np.memmap(self.path + ".values", np.float32, mode="r"))

    def __len__(self):
        return len(self.arrays()[0])

    def load(self, start=0, stop=None):
        """`(rows, columns, values)` of entries [start, stop)."""
        keys, values = self.arrays()
        keys = np.asarray(keys[start:stop])
        return (keys // self.vocabulary_size).astype(np.int32), (keys % self.vocabulary_size).astype(np.int32), \
            np.asarray(values[start:stop])

    def remove(self):
        for suffix in (".keys", ".values"):
            os.remove(self.path + suffix)


class CooccurrenceCounter:
    """Counts co-occurrences of id streams; `finish()` returns one merged shard.

    Args:
        vocabulary_size: int.
        window: int. Symmetric window; GloVe's default is 15, ours 10. Defaults to 10.
        directory: str. Where shards are written.
        memory_entries: int. Entries held in memory before spilling to a shard.
        max_fan_in: int. Shards merged (files open) at once.
    """

    def __init__(self, vocabulary_size, window=10, directory=".", memory_entries=20_000_000, max_fan_in=16):
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}.")
        if max_fan_in < 2:
            raise ValueError(f"max_fan_in must be >= 2, got {max_fan_in}.")
        self.vocabulary_size = vocabulary_size
        self.window = window
        self.directory = directory
        self.memory_entries = memory_entries
        self.max_fan_in = max_fan_in
        self.shards = []
        self._keys = np.zeros(0, np.int64)
        self._values = np.zeros(0, np.float32)
        self._pending, self._pending_values = [], []
        self._pending_size = 0
        self._tail = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        os.makedirs(directory, exist_ok=True)

    def add(self, ids, document_ids):
        """Count the pairs of a chunk of consecutive tokens (continuing the previous chunk)."""
        ids = np.concatenate([self._tail[0], np.asarray(ids, np.int64)])
        documents = np.concatenate([self._tail[1], np.asarray(document_ids, np.int64)])
        carried = len(self._tail[0])
        for distance in range(1, self.window + 1):
            left = np.arange(max(carried - distance, 0), len(ids) - distance)
            left = left[documents[left] == documents[left + distance]]
            a, b = ids[left], ids[left + distance]
            weight = np.full(len(left), 1.0 / distance, np.float32)
            self._pending += [a * self.vocabulary_size + b, b * self.vocabulary_size + a]
            self._pending_values += [weight, weight]
            self._pending_size += 2 * len(left)
        self._tail = (ids[-self.window :], documents[-self.window :])
        if self._pending_size >= self.memory_entries:
            self._reduce()

    def _reduce(self):
        if self._pending:
            keys = np.concatenate([self._keys] + self._pending)
            values = np.concatenate([self._values] + self._pending_values)
            self._keys, self._values = _sum_duplicates(keys, values)
            self._pending, self._pending_values, self._pending_size = [], [], 0
        if len(self._keys) >= self.memory_entries // 2:
            self._spill()

    def _spill(self):
        path = os.path.join(self.directory, f"shard-{len(self.shards):05d}")
        self.shards.append(CooccurrenceShard.write(path, [(self._keys, self._values)], self.vocabulary_size))
        self._keys, self._values = np.zeros(0, np.int64), np.zeros(0, np.float32)

    def finish(self):
        """Merge everything into one sorted shard and return it."""
        self._reduce()
        if len(self._keys) or not self.shards:
            self._spill()
        generation = 0
        while len(self.shards) > 1:
            groups = [self.shards[i : i + self.max_fan_in] for i in range(0, len(self.shards), self.max_fan_in)]
            self.shards = [self._merge(group, f"merge-{generation}-{n:05d}") for n, group in enumerate(groups)]
            generation += 1
        return self.shards[0]

    def _merge(self, shards, name):
        if len(shards) == 1:
            return shards[0]
        merged = CooccurrenceShard.write(
            os.path.join(self.directory, name), _merged_blocks(shards), self.vocabulary_size
        )
        for shard in shards:
            shard.remove()
        return merged


def _merged_blocks(shards):
    """Yield sorted, duplicate-summed `(keys, values)` blocks of several sorted shards."""
    arrays = [shard.arrays() for shard in shards]
    positions = [0] * len(arrays)
    while any(p < len(keys) for p, (keys, _) in zip(positions, arrays)):
        # Every key up to the smallest last key of the current blocks is in these blocks.
        bound = min(
            keys[min(p + MERGE_BLOCK, len(keys)) - 1] for p, (keys, _) in zip(positions, arrays) if p < len(keys)
        )
        block_keys, block_values = [], []
        for n, (keys, values) in enumerate(arrays):
            start = positions[n]
            stop = start + int(np.searchsorted(keys[start : start + MERGE_BLOCK], bound, "right"))
            block_keys.append(np.asarray(keys[start:stop]))
            block_values.append(np.asarray(values[start:stop]))
            positions[n] = stop
        yield _sum_duplicates(np.concatenate(block_keys), np.concatenate(block_values))
