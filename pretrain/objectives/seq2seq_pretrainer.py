"""Encoder–decoder pretraining with T5's span-corruption objective.

`Seq2SeqPretrainer` wraps a `layers.Seq2SeqTransformer` and predicts each
target token with teacher forcing (the decoder reads `[CLS]` and the targets
shifted right). The loss is the token cross-entropy averaged over the real
target tokens; metrics are `accuracy` (reconstruction token accuracy) and
`perplexity`.

The run around it (`pretrain seq2seq`) is `pretrain.runs.seq2seq_run`.
"""

import dataclasses

import keras
from keras import ops

from layers import BACKBONE_SIZES, Seq2SeqTransformer
from pretrain.errors import UsageError
from pretrain.examples.span_corruption import SpanCorruptionConfig, target_length
from pretrain.objectives.backbone_pretrainer import BackbonePretrainer, scale_for_replicas, weighted_mean_loss
from pretrain.objectives.perplexity import Perplexity
from pretrain.text.tokenizer import PAD_ID
from pretrain.training.pretrain_config import PRESETS, RunConfig, TokenizerConfig, TrainingConfig


@dataclasses.dataclass(frozen=True)
class DecodingConfig:
    """How the serving SavedModel decodes."""

    # Hypotheses kept by beam search (1 = greedy).
    num_beams: int = 4
    # Decoder positions, the start token included.
    max_length: int = 64
    # GNMT length normalisation of the final beams (0 = raw log-probability sum).
    length_penalty: float = 0.0


@dataclasses.dataclass(frozen=True)
class Seq2SeqPretrainConfig(RunConfig):
    model: str = "seq2seq"
    # Encoder and decoder size (`layers.BACKBONE_SIZES`), each side.
    preset: str = "tiny"
    # T5 and BART share one token embedding between encoder and decoder.
    share_embeddings: bool = True
    tokenizer: TokenizerConfig = TokenizerConfig()
    data: SpanCorruptionConfig = SpanCorruptionConfig()
    # A small Transformer from scratch tolerates a larger rate than BERT's 1e-4.
    training: TrainingConfig = TrainingConfig(learning_rate=5e-4)
    decoding: DecodingConfig = DecodingConfig()
    # The backbone's `get_config()`, filled in when the model is built.
    backbone: dict = None

    def validated(self):
        if self.preset not in PRESETS:
            raise UsageError(f"preset must be one of {', '.join(PRESETS)}; got {self.preset!r}")
        if self.decoding.num_beams < 1 or self.decoding.max_length < 2:
            raise UsageError("--num-beams must be at least 1 and --max-decode-length at least 2")
        if self.decoding.length_penalty < 0:
            raise UsageError(f"--length-penalty must be >= 0; got {self.decoding.length_penalty}")
        if not self.data.corpus:
            raise UsageError("no corpus given: pass --corpus PATH")
        check_training(self.training)
        self.data.validated()
        return self


def check_training(training):
    """Raises `UsageError` naming the first out-of-range `TrainingConfig` value."""
    for name, value, minimum in (
        ("--steps", training.steps, 1),
        ("--batch-size", training.batch_size, 1),
        ("--checkpoint-every", training.checkpoint_every, 1),
        ("--keep-checkpoints", training.keep_checkpoints, 1),
        ("--eval-batches", training.eval_batches, 0),
    ):
        if value < minimum:
            raise UsageError(f"{name} must be at least {minimum}, got {value}")
    if training.learning_rate <= 0:
        raise UsageError(f"--learning-rate must be positive, got {training.learning_rate}")
    if not 0.0 <= training.warmup_fraction < 1.0:
        raise UsageError(f"--warmup-fraction must be in [0, 1), got {training.warmup_fraction}")


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class Seq2SeqPretrainer(BackbonePretrainer):
    """A `Seq2SeqTransformer` trained to produce its targets with teacher forcing.

    Args:
        backbone: `layers.Seq2SeqTransformer`, named `"backbone"`.

    Call arguments (dict of int `[batch, length]`): `encoder_token_ids`,
        `encoder_padding_mask`, `decoder_token_ids`, `decoder_padding_mask`.

    Returns:
        Logits `[batch, target_length, vocabulary_size]`.

    Example:

    >>> import numpy as np
    >>> from layers.seq2seq_transformer import Seq2SeqTransformer
    >>> backbone = Seq2SeqTransformer(40, 1, 2, 16, 32, name="backbone")
    >>> x = {name: np.ones((2, 6), "int32") for name in backbone.input}
    >>> tuple(Seq2SeqPretrainer(backbone)(x).shape)
    (2, 6, 40)
    """

    def __init__(self, backbone, **kwargs):
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in backbone.input}
        decoder_output = backbone(inputs)["decoder_sequence_output"]  # (B, T, H)
        logits = backbone.decoder_token_embedding(decoder_output, reverse=True)  # (B, T, V)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self.backbone = backbone
        self.token_accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.perplexity = Perplexity(name="perplexity")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        logits = ops.cast(y_pred, "float32")
        weights = ops.cast(ops.not_equal(y, PAD_ID), "float32")
        per_token = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        self.token_accuracy.update_state(y, logits, sample_weight=weights)
        self.perplexity.update_state(per_token, sample_weight=weights)
        return scale_for_replicas(weighted_mean_loss(per_token, weights))


def features_to_inputs(features):
    """A batch of `span_corruption_dataset` -> Keras `(x, labels)`."""
    labels = features.pop("labels")
    return features, labels


def build_backbone(config, vocabulary_size):
    if config.backbone is not None:
        backbone_config = dict(config.backbone, vocabulary_size=vocabulary_size, name="backbone")
        backbone_config.pop("dtype", None)
        return Seq2SeqTransformer.from_config(backbone_config)
    max_length = max(config.data.input_length, target_length(config.data), config.decoding.max_length)
    return Seq2SeqTransformer(
        vocabulary_size=vocabulary_size,
        max_sequence_length=max(max_length, 128),
        share_embeddings=config.share_embeddings,
        name="backbone",
        **BACKBONE_SIZES[config.preset],
    )
