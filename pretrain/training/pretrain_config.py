"""The configuration of a `pretrain bert|electra|gpt` run, saved as `OUTPUT/config.json`.

One dataclass per objective: `BertPretrainConfig`, `ElectraPretrainConfig` and `GptPretrainConfig`,
each holding the sections it uses: `TokenizerConfig` (how text becomes ids),
its data section (`DataConfig` for GPT; `MaskedDataConfig` adds ELECTRA's
masking; `BertDataConfig` adds next-sentence prediction and UniLM),
`TrainingConfig` (optimizer, schedule, checkpoints) and, for ELECTRA,
`GeneratorConfig`. `PretrainConfig` is what they share; its `from_dict` and
`load` read any of them by the `"model"` key. A run's JSON layout:
`{"model", "preset", "backbone", "tokenizer", "data", "training", ...}`.
(seq2seq and ELMo keep their configs beside their objectives.)

Example:

>>> config = BertPretrainConfig(preset="tiny")
>>> config = config.replace(training=config.training.replace(steps=10))
>>> PretrainConfig.from_dict(config.to_dict()) == config
True
>>> GptPretrainConfig().data.seq_length
128
"""

import dataclasses
import json

from pretrain.errors import UsageError

MODELS = ("bert", "electra", "gpt")
PRESETS = ("tiny", "mini", "small", "base")
MASKING_MODES = ("token", "whole-word", "ngram", "span")
OPTIMIZERS = ("adamw", "lamb")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multi-worker")
TOKEN_VECTORS = ("skipgram", "none")


class _Replaceable:
    def replace(self, **changes):
        """A copy with `changes` applied (`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)


class RunConfig(_Replaceable):
    """The config of a pretraining run: a dataclass whose `data.corpus` holds the corpus paths.

    Saved as sorted, indented JSON (`config.json` of the run's output).
    """

    def to_dict(self):
        config = dataclasses.asdict(self)
        config["data"]["corpus"] = list(self.data.corpus)
        return config

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def save(self, path):
        with open(path, "w", encoding="utf-8") as file:
            file.write(self.to_json() + "\n")


@dataclasses.dataclass(frozen=True)
class TokenizerConfig(_Replaceable):
    # The WordPiece vocabulary file, relative to the output directory once saved.
    vocabulary: str = "vocab.txt"
    # Size of the vocabulary trained on the corpus when no --vocab file is given.
    vocabulary_size: int = 8000
    # BERT "uncased": lower-case and strip accents before WordPiece.
    lowercase: bool = True
    strip_accents: bool = True


@dataclasses.dataclass(frozen=True)
class DataConfig(_Replaceable):
    """The corpus and how it is cut into examples: what every objective reads (GPT's whole data config)."""

    # Corpus files, directories or globs; read with `pretrain.text.corpus.read_documents`.
    corpus: tuple = ()
    corpus_format: str = "lines"
    # What to do with undecodable bytes: "strict" stops with the file and line.
    errors: str = "strict"
    # 128 tokens is google-research/bert's phase-1 length.
    seq_length: int = 128
    # One document in `heldout_every` goes to the held-out split used for evaluation.
    heldout_every: int = 20
    # Seed of the example builder: the training batches are a function of it and the batch number.
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class MaskedDataConfig(DataConfig):
    """The data of a masked objective (ELECTRA's generator): the corpus and how tokens are masked."""

    # At most this many masked positions per sequence (google-research/bert: 20 at 128).
    max_predictions: int = 20
    # Masking unit: token (BERT), whole-word, ngram (Model Garden) or span (SpanBERT).
    masking: str = "token"


@dataclasses.dataclass(frozen=True)
class BertDataConfig(MaskedDataConfig):
    """BERT's data: masked tokens, next-sentence pairs and, optionally, UniLM's attention masks."""

    # Next-sentence prediction; RoBERTa and SpanBERT drop it.
    nsp: bool = True
    # Mix UniLM's bidirectional, left-to-right and seq2seq attention masks per example.
    unilm: bool = False


@dataclasses.dataclass(frozen=True)
class TrainingConfig(_Replaceable):
    # Optimizer updates (an update sums `accumulation_steps` batches).
    steps: int = 1000
    # Sequences per batch, over all replicas.
    batch_size: int = 32
    # AdamW as in google-research/bert; LAMB (You et al. 2019) for large batches.
    optimizer: str = "adamw"
    learning_rate: float = 1e-4
    # Linear warmup over this fraction of the updates, then linear decay to zero.
    warmup_fraction: float = 0.1
    # Decoupled weight decay; LayerNorm parameters and biases are excluded.
    weight_decay: float = 0.01
    # Global-norm clipping of the (accumulated) gradient.
    clip_norm: float = 1.0
    # Average gradients over this many batches per update (1 = no accumulation).
    accumulation_steps: int = 1
    # "mixed_float16" / "mixed_bfloat16" compute in half precision, keep float32 weights.
    precision: str = "float32"
    # Compile the train step with XLA.
    jit_compile: bool = False
    # Write a checkpoint (and evaluate on the held-out split) every this many updates.
    checkpoint_every: int = 200
    # Checkpoints kept on disk; a resume falls back to an older one if the newest is damaged.
    keep_checkpoints: int = 3
    # Held-out batches per evaluation (0 = no evaluation).
    eval_batches: int = 20
    # "default" (one device), "mirrored" (all local devices), "multi-worker" (TF_CONFIG).
    strategy: str = "default"
    seed: int = 0
    # Continued pretraining: the pretrain output dir whose weights the run starts from (None: random init).
    init_from: str = None
    # A new run's token embedding starts from skip-gram vectors of its tokens trained on the corpus
    # ("skipgram", pretrain/embeddings/token_vectors.py) or from random values ("none").
    token_vectors: str = "skipgram"


@dataclasses.dataclass(frozen=True)
class GeneratorConfig(_Replaceable):
    """ELECTRA's generator and how its loss is weighed."""

    # Encoder blocks of the generator (None: a quarter of the backbone's, at least one).
    generator_layers: int = None
    # Weight of the replaced-token-detection loss beside the generator's masked-LM loss (ELECTRA: 50).
    discriminator_weight: float = 50.0


@dataclasses.dataclass(frozen=True)
class PretrainConfig(RunConfig):
    """What `BertPretrainConfig`, `ElectraPretrainConfig` and `GptPretrainConfig` share.

    Build one of those (or `config_class(model)`): `model` names the objective and is fixed by
    the class. `from_dict` and `load` on this class read any of the three by its `"model"` key.
    """

    model: str = dataclasses.field(default=None, init=False)
    # Backbone size (`layers.BACKBONE_SIZES`); `backbone` below records the built config.
    preset: str = "tiny"
    # Dropout on the attention probabilities of a new backbone; None: the preset's dropout (0.1, as BERT and
    # GPT-2). 0 lets each backend use its fused attention kernel in training (Cramming, modern GPT recipes).
    attention_dropout: float = None
    tokenizer: TokenizerConfig = TokenizerConfig()
    data: DataConfig = DataConfig()
    training: TrainingConfig = TrainingConfig()
    # The backbone's `get_config()`, filled in when the model is built.
    backbone: dict = None

    # The backbone is a `BertEncoder` (fine-tuned for classification and tagging), else a `GptDecoder`.
    encoder = False

    @property
    def pooler_trained(self):
        """Whether pretraining trained the backbone's [CLS] pooler (next-sentence prediction)."""
        return False

    def minimum_train_documents(self):
        """The training documents the objective needs, and what to do with fewer (None: one suffices)."""
        return 1, None

    def backbone_options(self):
        """Keyword arguments of a new backbone beyond its preset (options of this objective's backbone)."""
        return {}

    @classmethod
    def from_dict(cls, config):
        """The config of `config["model"]` (checked against `cls` unless `cls` is `PretrainConfig`)."""
        model = config.get("model", cls.model or "bert")
        if model not in MODELS:  # another objective's run (seq2seq, elmo) or not a run at all
            raise UsageError(
                f"a {model!r} run; this needs the output of `pretrain {' | '.join(MODELS)}` "
                f"(model one of {', '.join(MODELS)})"
            )
        if cls.model is not None and model != cls.model:
            raise UsageError(f"a {model} config; use `pretrain {model}`")
        target = CONFIG_CLASSES[model]
        config = _without_other_objectives_keys(dict(config), target)
        if issubclass(target, EncoderPretrainConfig) and "alibi" not in config:
            config = _with_recorded_alibi(config)
        fields = {field.name: field for field in dataclasses.fields(target) if field.init}
        unknown = sorted(set(config) - set(fields) - {"model"})
        if unknown:
            raise UsageError(
                f"unknown config keys {unknown} (written by another version?); expected {sorted(fields)}"
            )
        values = {name: value for name, value in config.items() if name != "model"}
        for name, field in fields.items():
            if dataclasses.is_dataclass(field.type) and name in config:
                values[name] = _section_from_dict(field.type, name, config[name])
        return target(**values).validated()

    @classmethod
    def load(cls, path):
        """Read a config written by `save` (or by hand); errors name the file."""
        try:
            with open(path, encoding="utf-8") as file:
                config = json.load(file)
        except OSError as error:
            raise UsageError(f"cannot read config {path}: {error.strerror}") from None
        except json.JSONDecodeError as error:
            raise UsageError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
        try:
            return cls.from_dict(config)
        except UsageError as error:
            raise UsageError(f"{path}: {error}") from None

    def validated(self):
        """`self` if every value is in range, else a `UsageError` naming it."""
        _check_choice("model", self.model, MODELS)
        _check_choice("preset", self.preset, PRESETS)
        _check_choice("optimizer", self.training.optimizer, OPTIMIZERS)
        _check_choice("token_vectors", self.training.token_vectors, TOKEN_VECTORS)
        _check_choice("precision", self.training.precision, PRECISIONS)
        _check_choice("strategy", self.training.strategy, STRATEGIES)
        for name, value, minimum in (
            ("steps", self.training.steps, 1),
            ("batch_size", self.training.batch_size, 1),
            ("accumulation_steps", self.training.accumulation_steps, 1),
            ("checkpoint_every", self.training.checkpoint_every, 1),
            ("keep_checkpoints", self.training.keep_checkpoints, 1),
            ("eval_batches", self.training.eval_batches, 0),
            ("seq_length", self.data.seq_length, 8),
            ("heldout_every", self.data.heldout_every, 2),
            ("vocabulary_size", self.tokenizer.vocabulary_size, 10),
        ):
            if value < minimum:
                raise UsageError(f"{name} must be at least {minimum}, got {value}")
        if not 0.0 <= self.training.warmup_fraction < 1.0:
            raise UsageError(
                f"warmup_fraction must be in [0, 1), got {self.training.warmup_fraction}"
            )
        if self.training.accumulation_steps > 1 and self.training.strategy != "default":
            raise UsageError(
                "accumulation_steps > 1 works only with the default strategy: Keras 3 accumulates "
                "gradients inside a conditional that tf.distribute cannot synchronise across "
                "replicas. Under mirrored or multi-worker training raise --batch-size instead"
            )
        if self.training.learning_rate <= 0:
            raise UsageError(f"learning_rate must be positive, got {self.training.learning_rate}")
        if self.attention_dropout is not None and not 0.0 <= self.attention_dropout < 1.0:
            raise UsageError(f"attention_dropout must be in [0, 1), got {self.attention_dropout}")
        return self


def _check_masking(data):
    _check_choice("masking", data.masking, MASKING_MODES)
    if data.max_predictions < 1:
        raise UsageError(f"max_predictions must be at least 1, got {data.max_predictions}")


@dataclasses.dataclass(frozen=True)
class EncoderPretrainConfig(PretrainConfig):
    """What the configs of `BertEncoder` backbones (BERT, ELECTRA) add."""

    # ALiBi attention biases in a new backbone (`layers.alibi`): a masked LM learns from context
    # from its first updates instead of after a long plateau at the unigram (docs/pretraining.md).
    # False builds BERT's exact architecture. Runs written before 2026-12-05 record no key: False.
    alibi: bool = True

    encoder = True

    def backbone_options(self):
        return {"alibi": self.alibi}

    def validated(self):
        if not isinstance(self.alibi, bool):
            raise UsageError(f"alibi must be true or false, got {self.alibi!r}")
        return super().validated()


@dataclasses.dataclass(frozen=True)
class BertPretrainConfig(EncoderPretrainConfig):
    """`pretrain bert`: masked LM (token, whole-word, n-gram or span masking), NSP, UniLM masks."""

    model: str = dataclasses.field(default="bert", init=False)
    data: BertDataConfig = BertDataConfig()

    @property
    def pooler_trained(self):
        return self.data.nsp

    def minimum_train_documents(self):
        if not self.data.nsp:
            return 1, None
        return 2, (
            "next-sentence prediction draws random segments from another document. Add documents "
            "(a blank line separates them in the lines and prose formats) or pass --no-nsp"
        )

    def validated(self):
        _check_masking(self.data)
        return super().validated()


@dataclasses.dataclass(frozen=True)
class ElectraPretrainConfig(EncoderPretrainConfig):
    """`pretrain electra`: replaced-token detection against a small masked-LM generator."""

    model: str = dataclasses.field(default="electra", init=False)
    data: MaskedDataConfig = MaskedDataConfig()
    generator: GeneratorConfig = GeneratorConfig()

    def validated(self):
        _check_masking(self.data)
        if self.generator.generator_layers is not None and self.generator.generator_layers < 1:
            raise UsageError(f"generator_layers must be at least 1, got {self.generator.generator_layers}")
        if self.generator.discriminator_weight <= 0:
            raise UsageError(f"discriminator_weight must be positive, got {self.generator.discriminator_weight}")
        return super().validated()


@dataclasses.dataclass(frozen=True)
class GptPretrainConfig(PretrainConfig):
    """`pretrain gpt`: causal language modelling over packed token windows."""

    model: str = dataclasses.field(default="gpt", init=False)


CONFIG_CLASSES = {"bert": BertPretrainConfig, "electra": ElectraPretrainConfig, "gpt": GptPretrainConfig}


def config_class(model):
    """The config class of `model` ("bert", "electra" or "gpt")."""
    _check_choice("model", model, MODELS)
    return CONFIG_CLASSES[model]


def _without_other_objectives_keys(config, target):
    """`config` without the keys that configs written before 2026-12-05 held for every objective.

    Those held every objective's options: an `"electra"` section in every run (ELECTRA's is now its
    `"generator"`) and BERT's data options in GPT and ELECTRA runs, where they had no effect. A data
    option set to anything but what those versions wrote is an error that names it.
    """
    if "electra" in config:
        section = config.pop("electra")
        if target is ElectraPretrainConfig and "generator" not in config:
            config["generator"] = section
    data = config.get("data")
    if not isinstance(data, dict):
        return config
    data_fields = {field.name for field in dataclasses.fields(_data_class(target))}
    written = _OLD_DATA_VALUES[target.model]
    for key in sorted(set(data) & set(written) - data_fields):
        if data[key] != written[key]:
            raise UsageError(f"data.{key} = {data[key]!r} does not apply to `pretrain {target.model}`; remove it")
    config["data"] = {key: value for key, value in data.items() if key in data_fields or key not in written}
    return config


def _with_recorded_alibi(config):
    """A config without an `alibi` key that records its built backbone (a run written before
    2026-12-05) takes the backbone's: without ALiBi."""
    backbone = config.get("backbone")
    if isinstance(backbone, dict):
        return dict(config, alibi=bool(backbone.get("alibi", False)))
    return config


def _data_class(config_cls):
    return next(field.type for field in dataclasses.fields(config_cls) if field.name == "data")


# The data values that configs written before 2026-12-05 held for options an objective does not have.
_OLD_DATA_VALUES = {
    "bert": {},
    "electra": {"nsp": False, "unilm": False},
    "gpt": {field.name: field.default for field in dataclasses.fields(BertDataConfig)
            if field.name not in {field.name for field in dataclasses.fields(DataConfig)}},
}


def _section_from_dict(section, name, values):
    if not isinstance(values, dict):
        raise UsageError(f'"{name}" must be a JSON object, got {values!r}')
    known = {field.name for field in dataclasses.fields(section)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UsageError(f'unknown keys {unknown} in "{name}"; expected {sorted(known)}')
    values = dict(values)
    if "corpus" in values:
        corpus = values["corpus"]
        values["corpus"] = (corpus,) if isinstance(corpus, str) else tuple(corpus)
    return section(**values)


def _check_choice(name, value, choices):
    if value not in choices:
        raise UsageError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
