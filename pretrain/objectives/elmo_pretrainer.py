"""ELMo pretraining: a forward and a backward LSTM language model trained together.

`ElmoPretrainer` wraps a `layers.elmo.Elmo` backbone and one softmax shared
by both directions (as ELMo): the forward LSTM's output at position `t`
predicts token `t + 1`, the backward LSTM's predicts token `t - 1`. The loss is
the mean of the two directions' token cross-entropies; metrics are
`forward_perplexity` and `backward_perplexity`.

The run around it (`pretrain elmo`) is `pretrain.runs.elmo_run`.
"""

import dataclasses

import keras
from keras import ops

from layers import Elmo
from pretrain.errors import UsageError
from pretrain.objectives.backbone_pretrainer import BackbonePretrainer, scale_for_replicas, weighted_mean_loss
from pretrain.objectives.perplexity import Perplexity
from pretrain.objectives.seq2seq_pretrainer import check_training
from pretrain.text.tokenizer import PAD_ID
from pretrain.training.pretrain_config import RunConfig, TokenizerConfig, TrainingConfig

INPUT_TYPES = ("tokens", "characters")


@dataclasses.dataclass(frozen=True)
class ElmoDataConfig:
    corpus: tuple = ()
    corpus_format: str = "lines"
    errors: str = "strict"
    # Document i is held out (evaluation only) when i % heldout_every == heldout_every - 1.
    heldout_every: int = 20
    # Tokens per training window (ELMo trained on sentences; windows keep context across them).
    seq_length: int = 64

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class ElmoPretrainConfig(RunConfig):
    model: str = "elmo"
    # LSTM layers per direction; ELMo has 2.
    num_layers: int = 2
    # LSTM units and token vector size (ELMo: 4096 cells projected to 512).
    hidden_dim: int = 256
    dropout: float = 0.1
    # "tokens": an embedding per WordPiece token; "characters": ELMo's char-CNN over its bytes.
    input_type: str = "tokens"
    max_characters: int = 16
    tokenizer: TokenizerConfig = TokenizerConfig()
    data: ElmoDataConfig = ElmoDataConfig()
    # LSTMs train well with Adam at 1e-3.
    training: TrainingConfig = TrainingConfig(learning_rate=1e-3, warmup_fraction=0.05)
    # The backbone's `get_config()`, filled in when the model is built.
    backbone: dict = None

    def validated(self):
        if self.input_type not in INPUT_TYPES:
            raise UsageError(f"--input-type must be one of {', '.join(INPUT_TYPES)}; got {self.input_type!r}")
        for name, value, minimum in (
            ("--num-layers", self.num_layers, 1),
            ("--hidden-dim", self.hidden_dim, 1),
            ("--max-characters", self.max_characters, 3),
            ("--seq-length", self.data.seq_length, 2),
            ("--heldout-every", self.data.heldout_every, 2),
        ):
            if value < minimum:
                raise UsageError(f"{name} must be at least {minimum}, got {value}")
        if not 0.0 <= self.dropout < 1.0:
            raise UsageError(f"--dropout must be in [0, 1), got {self.dropout}")
        if not self.data.corpus:
            raise UsageError("no corpus given: pass --corpus PATH")
        check_training(self.training)
        return self


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class ElmoPretrainer(BackbonePretrainer):
    """An `Elmo` backbone with one softmax shared by its two language models.

    Args:
        backbone: `layers.elmo.Elmo`, named `"backbone"`.

    Call arguments (dict): `token_ids`, `padding_mask` int `[batch, sequence]`.

    Returns:
        Logits `[batch, 2, sequence, vocabulary_size]`: index 0 forward (next
        token), index 1 backward (previous token).

    Example:

    >>> import numpy as np
    >>> from layers.elmo import Elmo
    >>> backbone = Elmo(vocabulary_size=30, num_layers=1, hidden_dim=8, name="backbone")
    >>> x = {"token_ids": np.ones((2, 5), "int32"), "padding_mask": np.ones((2, 5), "int32")}
    >>> tuple(ElmoPretrainer(backbone)(x).shape)
    (2, 2, 5, 30)
    """

    def __init__(self, backbone, **kwargs):
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in backbone.input}
        outputs = backbone(inputs)
        # The layer mix is fitted per downstream task; the language models do not read it.
        backbone.get_layer("scalar_mix").trainable = False
        softmax = keras.layers.Dense(backbone.vocabulary_size, name="softmax")
        logits = ops.stack(
            [softmax(outputs["forward_output"]), softmax(outputs["backward_output"])], axis=1
        )  # (B, 2, T, V)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self.backbone = backbone
        self.forward_perplexity = Perplexity(name="forward_perplexity")
        self.backward_perplexity = Perplexity(name="backward_perplexity")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        logits = ops.cast(y_pred, "float32")
        losses = []
        for direction, metric, labels, predicted in (
            ("forward", self.forward_perplexity, y[:, 1:], logits[:, 0, :-1]),
            ("backward", self.backward_perplexity, y[:, :-1], logits[:, 1, 1:]),
        ):
            weights = ops.cast(ops.not_equal(labels, PAD_ID), "float32")
            per_token = keras.losses.sparse_categorical_crossentropy(labels, predicted, from_logits=True)
            metric.update_state(per_token, sample_weight=weights)
            losses.append(weighted_mean_loss(per_token, weights))
        return scale_for_replicas((losses[0] + losses[1]) / 2.0)


def build_backbone(config, vocabulary):
    if config.backbone is not None:
        backbone = Elmo.from_config(dict(config.backbone, vocabulary_size=len(vocabulary), name="backbone"))
    else:
        backbone = Elmo(
            vocabulary_size=len(vocabulary),
            num_layers=config.num_layers,
            hidden_dim=config.hidden_dim,
            dropout=config.dropout,
            input_type=config.input_type,
            max_characters=config.max_characters,
            name="backbone",
        )
    if backbone.input_type == "characters":
        backbone.set_vocabulary(vocabulary)
    return backbone
