"""The weight initialiser of BERT and GPT-2: a normal truncated at two standard deviations."""

import keras


def truncated_normal(stddev=0.02):
    """`TruncatedNormal(stddev)`, the initialiser google-research/bert and keras-hub use."""
    return keras.initializers.TruncatedNormal(stddev=stddev)
