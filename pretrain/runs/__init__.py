"""Runs: one pretraining run per objective or word-vector method, from a corpus to its output directory
(vocabulary, examples, model, training, export), and the steps of `make demo`.

May import: every room below it: `saved_models`, `tasks`, `pretrain.objectives`, `pretrain.embeddings`,
`pretrain.training`, `pretrain.examples`, `pretrain.text`, `pretrain.errors`, `layers`.
"""
