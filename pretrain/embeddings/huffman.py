"""Huffman codes of a vocabulary, for hierarchical softmax (word2vec's `CreateBinaryTree`).

Each word gets the inner nodes on its root-to-leaf path (`points`, ids of rows
in the output table, of which there are `len(counts) - 1`) and the branch taken
at each (`codes`, 0/1), padded to the longest path with `mask` 0.

Example:

>>> points, codes, mask = huffman_paths([5, 3, 1, 1])
>>> mask.sum(axis=1).astype(int).tolist()  # frequent words get short codes
[1, 2, 3, 3]
"""

import heapq
import itertools

import numpy as np


def huffman_paths(counts):
    """`(points, codes, mask)`, each int32/float32 [vocabulary_size, max_code_length]."""
    size = len(counts)
    if size < 2:
        raise ValueError(f"Hierarchical softmax needs at least 2 words, got {size}.")
    order = itertools.count()
    heap = [(int(count), next(order), word) for word, count in enumerate(counts)]
    heapq.heapify(heap)
    parent = {}
    branch = {}
    next_node = size
    while len(heap) > 1:
        count_a, _, a = heapq.heappop(heap)
        count_b, _, b = heapq.heappop(heap)
        parent[a], branch[a] = next_node, 0
        parent[b], branch[b] = next_node, 1
        heapq.heappush(heap, (count_a + count_b, next(order), next_node))
        next_node += 1
    root = next_node - 1
    paths = []
    for word in range(size):
        node, path = word, []
        while node != root:
            path.append((parent[node] - size, branch[node]))
            node = parent[node]
        paths.append(path[::-1])
    length = max(len(path) for path in paths)
    points = np.zeros((size, length), np.int32)
    codes = np.zeros((size, length), np.float32)
    mask = np.zeros((size, length), np.float32)
    for word, path in enumerate(paths):
        for depth, (point, code) in enumerate(path):
            points[word, depth], codes[word, depth], mask[word, depth] = point, code, 1.0
    return points, codes, mask
