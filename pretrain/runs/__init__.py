"""Runs: one pretraining run per objective or word-vector method, from a corpus to its output directory
(vocabulary, examples, model, training, export), and the steps of `make demo`.

Every pretraining objective goes through one skeleton, `run.run_objective`, with a small `recipe.Recipe`
of what the objective does differently (model, datasets, export): `pretrain_run` (BERT, ELECTRA, GPT),
`seq2seq_run`, `elmo_run`.

May import: every room below it: `saved_models`, `tasks`, `pretrain.objectives`, `pretrain.embeddings`,
`pretrain.training`, `pretrain.examples`, `pretrain.text`, `pretrain.errors`, `layers`.
"""
