"""Word vectors: word2vec (skip-gram, CBOW; with its fused C++ kernel), fastText subwords, GloVe, their
vocabulary, corpus cache, evaluation and export, and the WordPiece token vectors a backbone starts from.

May import: `pretrain.training`, `pretrain.text`, `pretrain.errors`.
"""
