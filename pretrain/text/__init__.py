"""Text in: corpus reading and fetching, the IMDB split, WordPiece vocabulary training and tokenizing.

May import: `pretrain.errors` (and the standard library, NumPy, TensorFlow, tf-text).
"""
