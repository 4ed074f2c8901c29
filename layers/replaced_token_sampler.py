"""ELECTRA's corruption step: generator samples replace the masked tokens."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class ReplacedTokenSampler(keras.layers.Layer):
    """Samples a token from the generator at each masked position and writes it into the text.

    ELECTRA (Clark et al., 2020) trains a small masked-LM generator and a
    discriminator: the discriminator reads the original text with every masked
    position replaced by a token sampled from the generator's softmax, and
    learns for every token whether it was replaced. A sampled token that
    happens to equal the original counts as original. Sampling is not
    differentiated (the generator learns only from its masked-LM loss).

    Args:
        seed: int or None. Seed of the sampler's `keras.random.SeedGenerator`.

    Call arguments:
        token_ids: int tensor `[batch, sequence]`, the generator's (masked) input.
        mask_positions: int tensor `[batch, P]`, the masked positions.
        logits: float tensor `[batch, P, vocabulary_size]`, the generator's
            logits at those positions.
        original_ids: int tensor `[batch, P]`, the tokens the text had there.
        weights: tensor `[batch, P]`, > 0 for a real prediction, 0 for a
            padded prediction slot (which replaces nothing).

    Returns:
        Dict with `token_ids` `[batch, sequence]`, the discriminator's input
        (the original text with the samples written in), and `replaced`
        `[batch, sequence]`, int32 1 where it differs from the original text.

    Example:

    >>> import keras, numpy as np
    >>> from layers import ReplacedTokenSampler
    >>> sampler = ReplacedTokenSampler(seed=0)
    >>> logits = np.full((1, 2, 10), -1e4, "float32"); logits[0, 0, 7] = 0.0; logits[0, 1, 5] = 0.0
    >>> out = sampler(np.array([[2, 4, 9, 4, 3]]), np.array([[1, 3]]), logits,
    ...               original_ids=np.array([[8, 5]]), weights=np.array([[1.0, 1.0]]))
    >>> [keras.ops.convert_to_numpy(out[name]).tolist() for name in ("token_ids", "replaced")]
    [[[2, 7, 9, 5, 3]], [[0, 1, 0, 0, 0]]]

    Reference:
        - [Clark et al., 2020](https://arxiv.org/abs/2003.10555), section 2
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, token_ids, mask_positions, logits, original_ids, weights):
        token_ids = ops.cast(token_ids, "int32")
        shape = ops.shape(mask_positions)
        vocabulary_size = ops.shape(logits)[-1]
        flat_logits = ops.reshape(ops.stop_gradient(ops.cast(logits, "float32")), (-1, vocabulary_size))
        sampled = keras.random.categorical(flat_logits, 1, seed=self.seed_generator, dtype="int32")
        sampled = ops.reshape(sampled, shape)
        # slots[b, p, s] = 1 where prediction p of sequence b is real and sits at position s.
        real = ops.cast(ops.greater(weights, 0), "int32")
        slots = ops.one_hot(ops.cast(mask_positions, "int32"), ops.shape(token_ids)[1], dtype="int32")
        slots = slots * real[:, :, None]
        masked = ops.greater(ops.max(slots, axis=1), 0)
        written = ops.sum(slots * sampled[:, :, None], axis=1)
        original = ops.sum(slots * ops.cast(original_ids, "int32")[:, :, None], axis=1)
        return {
            "token_ids": ops.where(masked, written, token_ids),
            "replaced": ops.cast(ops.logical_and(masked, ops.not_equal(written, original)), "int32"),
        }

    def compute_output_spec(self, token_ids, mask_positions, logits, original_ids, weights):
        spec = keras.KerasTensor(token_ids.shape, dtype="int32")
        return {"token_ids": spec, "replaced": keras.KerasTensor(token_ids.shape, dtype="int32")}

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config
