"""ELECTRA pretraining: replaced-token detection (Clark et al., 2020).

`ElectraPretrainer` trains two networks at once on the masked examples of the
BERT pipeline (`pretrain.examples.bert_examples.bert_dataset` without NSP):

- the **generator**, a small masked LM: `generator_layers` encoder blocks on
  the discriminator's own embedding layer (ELECTRA ties the embeddings), with
  a `MaskedLMHead` tied to the token embedding, reads the masked text and
  predicts the masked tokens;
- the **discriminator**, the `BertEncoder` this run exports, reads the text
  with each masked token replaced by a sample of the generator
  (`ReplacedTokenSampler`) and predicts for *every* token whether it was
  replaced (`ReplacedTokenDetectionHead`).

The loss is `mlm_loss + discriminator_weight * rtd_loss` (ELECTRA: 50), the
replaced-token loss averaged over the real tokens. Because the discriminator
learns from every position, not from the 15% that are masked, ELECTRA learns
more per update than masked LM at small scale. Only the discriminator (the
`backbone`) is kept for fine-tuning.

Metrics: `mlm_loss`, `mlm_accuracy` (the generator), `rtd_loss`,
`rtd_accuracy` and `rtd_majority_accuracy` (the accuracy of answering
"original" everywhere, the baseline the discriminator must beat).
"""

import keras
from keras import ops

from layers import MaskedLMHead, ReplacedTokenDetectionHead, ReplacedTokenSampler, TransformerEncoderBlock
from layers.initializers import truncated_normal
from pretrain.objectives.backbone_pretrainer import BackbonePretrainer, scale_for_replicas, weighted_mean_loss
from pretrain.objectives.bert_pretrainer import features_to_inputs as bert_features_to_inputs

# ELECTRA's weight of the discriminator loss (Clark et al., 2020, appendix A).
DISCRIMINATOR_WEIGHT = 50.0


def default_generator_layers(num_layers):
    """A quarter of the blocks, at least one (ELECTRA: a generator 1/4 to 1/2 the discriminator's size is best)."""
    return max(1, num_layers // 4)


def features_to_inputs(features):
    """Maps a batch of google-research/bert features to Keras `(x, y)`; the sampler needs the masked tokens in `x`."""
    x, y = bert_features_to_inputs(features)
    x = dict(x, mlm_ids=y["mlm_ids"], mlm_weights=y["mlm_weights"])
    return x, {"mlm_ids": y["mlm_ids"], "mlm_weights": y["mlm_weights"]}


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class ElectraPretrainer(BackbonePretrainer):
    """A generator and a `BertEncoder` discriminator trained by replaced-token detection.

    Args:
        backbone: `layers.BertEncoder`, the discriminator. Named `"backbone"`.
        generator_layers: int or None. Encoder blocks of the generator (same
            width as the backbone, sharing its embedding layer). None: a
            quarter of the backbone's blocks, at least one.
        discriminator_weight: float. Weight of the replaced-token loss.
            Defaults to 50 (ELECTRA).
        seed: int or None. Seed of the generator's sampling.

    Call arguments (dict):
        token_ids, segment_ids, padding_mask: int `[batch, sequence]`, the
            masked text.
        mask_positions: int `[batch, P]`, the masked positions.
        mlm_ids: int `[batch, P]`, the original tokens there.
        mlm_weights: float `[batch, P]`, 1 for a real prediction, 0 for padding.

    Returns:
        Dict with `mlm_features` `[batch, P, hidden_dim]` (the generator head's
        transformed states; `model.generator_head.logits(...)` gives logits),
        `rtd_logits` `[batch, sequence]` (the discriminator's, > 0 for
        "replaced") and `replaced` `[batch, sequence]` (int32 labels: which
        tokens the generator's samples changed).

    Example:

    >>> import numpy as np
    >>> from layers import BACKBONE_SIZES, BertEncoder
    >>> backbone = BertEncoder(vocabulary_size=50, name="backbone", **BACKBONE_SIZES["tiny"])
    >>> model = ElectraPretrainer(backbone, seed=0)
    >>> x = {"token_ids": np.full((2, 8), 7, "int32"), "segment_ids": np.zeros((2, 8), "int32"),
    ...      "padding_mask": np.ones((2, 8), "int32"), "mask_positions": np.array([[1, 2]] * 2),
    ...      "mlm_ids": np.array([[9, 10]] * 2), "mlm_weights": np.ones((2, 2), "float32")}
    >>> {name: tuple(value.shape) for name, value in model(x).items()}
    {'mlm_features': (2, 2, 128), 'rtd_logits': (2, 8), 'replaced': (2, 8)}

    Reference:
        - [Clark et al., 2020](https://arxiv.org/abs/2003.10555)
    """

    def __init__(self, backbone, generator_layers=None, discriminator_weight=DISCRIMINATOR_WEIGHT, seed=None, **kwargs):
        if generator_layers is None:
            generator_layers = default_generator_layers(backbone.num_layers)
        # Layers.
        generator_blocks = [
            TransformerEncoderBlock(
                backbone.num_heads,
                backbone.intermediate_dim,
                dropout=backbone.dropout,
                attention_dropout=backbone.attention_dropout,
                activation="gelu_approximate",
                layer_norm_epsilon=backbone.layer_norm_epsilon,
                normalize_first=backbone.normalize_first,
                kernel_initializer=truncated_normal(),
                dtype=backbone.dtype_policy,
                name=f"generator_layer_{index}",
            )
            for index in range(generator_layers)
        ]
        generator_head = MaskedLMHead(
            token_embedding=backbone.token_embedding, dtype=backbone.dtype_policy, name="generator_head"
        )
        sampler = ReplacedTokenSampler(seed=seed, name="sampler")
        rtd_head = ReplacedTokenDetectionHead(dtype=backbone.dtype_policy, name="rtd_head")

        # Functional model.
        inputs = {
            name: keras.Input(shape=(None,), dtype="int32", name=name)
            for name in ("token_ids", "segment_ids", "padding_mask", "mask_positions", "mlm_ids")
        }
        inputs["mlm_weights"] = keras.Input(shape=(None,), dtype="float32", name="mlm_weights")
        # The generator: the shared embeddings, its blocks, the last one only at the masked positions.
        # With ALiBi, the generator's attention has the backbone's biases.
        x = backbone.embeddings_layer(inputs["token_ids"], inputs["segment_ids"])
        alibi = backbone.alibi_layer
        for index, block in enumerate(generator_blocks):
            last = index == len(generator_blocks) - 1
            positions = inputs["mask_positions"] if last else None
            bias = None if alibi is None else alibi(x, query_positions=positions)
            x = block(x, padding_mask=inputs["padding_mask"], query_positions=positions, attention_bias=bias)
        mlm_features = generator_head(x, return_features=True)
        corrupted = sampler(
            inputs["token_ids"], inputs["mask_positions"], generator_head.logits(mlm_features),
            inputs["mlm_ids"], inputs["mlm_weights"],
        )
        # The discriminator: the backbone on the corrupted text, a logit per token.
        encoded = backbone(
            {"token_ids": corrupted["token_ids"], "segment_ids": inputs["segment_ids"],
             "padding_mask": inputs["padding_mask"]}
        )
        outputs = {
            "mlm_features": mlm_features,
            "rtd_logits": rtd_head(encoded["sequence_output"]),
            "replaced": corrupted["replaced"],
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # Config and metrics.
        self.backbone = backbone
        self.generator_layers = generator_layers
        self.discriminator_weight = discriminator_weight
        self.seed = seed
        self.generator_head = generator_head
        self.mlm_loss = keras.metrics.Mean(name="mlm_loss")
        self.mlm_accuracy = keras.metrics.Mean(name="mlm_accuracy")
        self.rtd_loss = keras.metrics.Mean(name="rtd_loss")
        self.rtd_accuracy = keras.metrics.Mean(name="rtd_accuracy")
        self.rtd_majority_accuracy = keras.metrics.Mean(name="rtd_majority_accuracy")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        weights = y["mlm_weights"]
        mlm_loss, mlm_accuracy = self.generator_head.features_loss(
            y_pred["mlm_features"], y["mlm_ids"], weights, return_accuracy=True
        )
        self.mlm_loss.update_state(mlm_loss)
        self.mlm_accuracy.update_state(mlm_accuracy, sample_weight=ops.sum(ops.cast(weights, "float32")))

        logits = ops.cast(y_pred["rtd_logits"], "float32")
        replaced = ops.cast(y_pred["replaced"], "float32")
        real = ops.cast(x["padding_mask"], "float32")
        per_token = ops.binary_crossentropy(replaced, logits, from_logits=True)
        rtd_loss = weighted_mean_loss(per_token, real)
        tokens = ops.sum(real)
        correct = ops.cast(ops.equal(ops.cast(ops.greater(logits, 0), "float32"), replaced), "float32")
        self.rtd_loss.update_state(rtd_loss)
        self.rtd_accuracy.update_state(weighted_mean_loss(correct, real), sample_weight=tokens)
        self.rtd_majority_accuracy.update_state(weighted_mean_loss(1.0 - replaced, real), sample_weight=tokens)
        return scale_for_replicas(mlm_loss + self.discriminator_weight * rtd_loss)

    def extra_config(self):
        return {
            "generator_layers": self.generator_layers,
            "discriminator_weight": self.discriminator_weight,
            "seed": self.seed,
        }
