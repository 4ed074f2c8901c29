"""Activation lookup shared by the feed-forward block and the heads.

Keras names are used as they are (`"relu"`, `"gelu"` = exact erf GELU), plus
`"gelu_approximate"`: the tanh approximation that google-research/bert, GPT-2
and keras-hub's BERT/GPT-2 backbones use inside their Transformer blocks.
"""

import keras


def gelu_approximate(x):
    """GELU with the tanh approximation (Hendrycks & Gimpel, 2016)."""
    return keras.activations.gelu(x, approximate=True)


def get_activation(name):
    """The activation function called `name`; raises ValueError for unknown names."""
    if name == "gelu_approximate":
        return gelu_approximate
    try:
        return keras.activations.get(name)
    except ValueError as error:
        raise ValueError(
            f"Unknown `activation` {name!r}: use a Keras activation name such as "
            "'relu' or 'gelu', or 'gelu_approximate'."
        ) from error
