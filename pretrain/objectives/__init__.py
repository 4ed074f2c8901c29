"""Objectives: one Keras model and loss per pretraining objective (BERT, ELECTRA, GPT, seq2seq, ELMo) over
`BackbonePretrainer`, the perplexity metric, and `load_pretrained` for what a run wrote.

May import: `layers`, `pretrain.training`, `pretrain.examples`, `pretrain.text`, `pretrain.errors`.
"""
