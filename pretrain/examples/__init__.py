"""Examples from text: masking, BERT/ELECTRA, GPT, T5 span-corruption and LM windows, TFRecords.

May import: `pretrain.text`, `pretrain.errors`.
"""
