"""Layer-wise learning-rate decay for fine-tuning (ELECTRA, Clark et al. 2020)."""

import keras


def layerwise_multipliers(backbone, decay):
    """{variable path: learning-rate multiplier} for the backbone's variables.

    Transformer layer i (counted from 0) of L gets `decay ** (L - i)`, so the
    top layer gets `decay` and the embeddings `decay ** (L + 1)`; a final
    LayerNorm after the blocks (pre-LN backbones) goes with the top layer; the
    pooler and every variable outside the backbone (the task head) keep 1.

    Args:
        backbone: a `layers.BertEncoder` or `layers.GptDecoder` (anything with
            a `transformer_layers` list).
        decay: float in (0, 1]. 1 turns the decay off.
    """
    if not 0 < decay <= 1:
        raise ValueError(f"decay={decay}: must be in (0, 1].")
    num_layers = len(backbone.transformer_layers)
    multipliers = {variable.path: decay ** (num_layers + 1) for variable in backbone.weights}
    for index, block in enumerate(backbone.transformer_layers):
        for variable in block.weights:
            multipliers[variable.path] = decay ** (num_layers - index)
    final_norm = getattr(backbone, "final_layer_norm", None) or getattr(backbone, "layer_norm", None)
    for variable in final_norm.weights if final_norm is not None else []:
        multipliers[variable.path] = decay
    pooler = getattr(backbone, "pooled_dense", None)
    for variable in pooler.weights if pooler is not None else []:
        multipliers[variable.path] = 1.0
    return multipliers


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class LayerwiseDecayAdamW(keras.optimizers.AdamW):
    """AdamW whose step size is scaled per variable.

    Lower layers hold general features, so they move less than the layers near
    the task head. Variables missing from `multipliers` use the plain rate.

    Args:
        multipliers: dict {variable path: float}, e.g. from
            `layerwise_multipliers(backbone, decay=0.8)`.
        **kwargs: `keras.optimizers.AdamW` arguments.

    Example:
    >>> from layers import BertEncoder
    >>> backbone = BertEncoder(100, 2, 2, 16, 32)
    >>> optimizer = LayerwiseDecayAdamW(layerwise_multipliers(backbone, 0.5), learning_rate=1e-4)
    """

    def __init__(self, multipliers, **kwargs):
        super().__init__(**kwargs)
        self.multipliers = dict(multipliers)
        self._scale_by_key = {}

    def build(self, variables):
        super().build(variables)
        self._scale_by_key = {self._var_key(v): self.multipliers.get(v.path, 1.0) for v in variables}

    def update_step(self, gradient, variable, learning_rate):
        scale = self._scale_by_key.get(self._var_key(variable), 1.0)
        super().update_step(gradient, variable, learning_rate * scale)

    def get_config(self):
        config = super().get_config()
        config["multipliers"] = self.multipliers
        return config
