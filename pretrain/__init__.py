"""Pretraining: from raw text to a trained backbone or word vectors, and the `pretrain` commands.

Rooms, in the order imports may run (a module imports only from its own room and the rooms earlier in this list, with
`layers` first and `tasks` and `saved_models` where the list places them):

1. `pretrain.errors`: `UsageError`, the error every command turns into one clear line;
   `pretrain.atomic_files`: outputs written beside their place and moved in whole.
2. `pretrain.text`: corpus reading and fetching, the IMDB split, WordPiece vocabulary and tokenizer.
3. `pretrain.examples`: masking and the examples each objective trains on (tf.data, TFRecords).
4. `pretrain.training`: run configuration, optimizer and schedule, the `fit` loop with checkpoints.
5. `pretrain.embeddings`: word2vec (with its C++ kernel), fastText, GloVe, their vocabulary and export.
6. `pretrain.objectives`: one Keras model and loss per objective (BERT, ELECTRA, GPT, seq2seq, ELMo).
7. `tasks`, then `saved_models` (top-level packages).
8. `pretrain.runs`: one run each, corpus -> vocabulary -> examples -> model -> training -> export.
9. `pretrain.commands`: each subcommand's options and `run(args)`.

docs/architecture.md draws the rooms; tests/test_architecture.py enforces the order.
"""
