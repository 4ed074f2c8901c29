"""Argument checks shared by the backbones: clear ValueErrors before any graph is built."""

import keras
from keras import ops


def check_backbone_arguments(vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim, dropout, max_sequence_length):
    """Raise ValueError naming the first bad constructor argument."""
    for name, value in (
        ("vocabulary_size", vocabulary_size),
        ("num_layers", num_layers),
        ("num_heads", num_heads),
        ("hidden_dim", hidden_dim),
        ("intermediate_dim", intermediate_dim),
        ("max_sequence_length", max_sequence_length),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
    if hidden_dim % num_heads:
        raise ValueError(
            f"`hidden_dim`={hidden_dim} must be divisible by `num_heads`={num_heads}."
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1), got {dropout!r}.")


def check_backbone_inputs(inputs, names, max_sequence_length):
    """Check the input dict of a backbone: keys, integer dtypes, rank 2, length.

    Runs on the concrete (or symbolic) tensors before the functional graph.
    """
    if not isinstance(inputs, dict):
        raise ValueError(f"Inputs must be a dict with keys {list(names)}, got {type(inputs).__name__}.")
    missing = [name for name in names if name not in inputs]
    if missing:
        raise ValueError(f"Missing input(s) {missing}; expected keys {list(names)}.")
    for name in names:
        value = inputs[name]
        if not hasattr(value, "dtype"):
            value = ops.convert_to_tensor(value)
        dtype = keras.backend.standardize_dtype(value.dtype)
        if not dtype.startswith(("int", "uint")) and not (name == "padding_mask" and dtype == "bool"):
            raise ValueError(f"`{name}` must be an integer tensor, got dtype {dtype}.")
        shape = ops.shape(value)
        if len(shape) != 2:
            raise ValueError(f"`{name}` must have shape [batch, sequence], got rank {len(shape)}.")
        length = value.shape[1]
        if length is not None and length > max_sequence_length:
            raise ValueError(
                f"`{name}` has sequence length {length}, longer than "
                f"`max_sequence_length`={max_sequence_length}."
            )
