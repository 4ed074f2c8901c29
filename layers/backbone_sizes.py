"""Named backbone sizes shared by `BertEncoder.from_size` and `GptDecoder.from_size`."""

BACKBONE_SIZES = {
    # Unit tests and smoke runs.
    "tiny": {"num_layers": 2, "hidden_dim": 128, "num_heads": 2, "intermediate_dim": 512},
    # BERT-mini of Turc et al. (2019); the benchmark size.
    "mini": {"num_layers": 4, "hidden_dim": 256, "num_heads": 4, "intermediate_dim": 1024},
    # BERT-small of Turc et al. (2019).
    "small": {"num_layers": 4, "hidden_dim": 512, "num_heads": 8, "intermediate_dim": 2048},
    # BERT-base / GPT-2 small.
    "base": {"num_layers": 12, "hidden_dim": 768, "num_heads": 12, "intermediate_dim": 3072},
}


def backbone_size(name):
    """The keyword arguments of size `name`; raises ValueError naming the choices."""
    if name not in BACKBONE_SIZES:
        raise ValueError(
            f"Unknown backbone `size` {name!r}; choose one of {', '.join(BACKBONE_SIZES)}."
        )
    return dict(BACKBONE_SIZES[name])
