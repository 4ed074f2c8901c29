"""The configuration of a pretraining run, saved as `OUTPUT/config.json`.

One dataclass per concern: `TokenizerConfig` (how text becomes ids),
`DataConfig` (corpus and the objective's example builder), `TrainingConfig`
(optimizer, schedule, checkpoints), `ElectraConfig` (the generator of
`pretrain electra`) and `PretrainConfig`, which holds them with the model kind
(`"bert"`, `"electra"` or `"gpt"`), the backbone size preset and, once a run
has started, the backbone's own `get_config()`. Its JSON layout:
`{"model", "backbone", "tokenizer", "data", "training", ...}`.

Example:

>>> config = PretrainConfig(model="bert", preset="tiny")
>>> config = config.replace(training=config.training.replace(steps=10))
>>> PretrainConfig.from_dict(config.to_dict()) == config
True
"""

import dataclasses
import json

from pretrain.errors import UsageError

MODELS = ("bert", "electra", "gpt")
# The models whose backbone is a `BertEncoder` (fine-tuned for classification and tagging).
ENCODER_MODELS = ("bert", "electra")
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
    # Corpus files, directories or globs; read with `pretrain.text.corpus.read_documents`.
    corpus: tuple = ()
    corpus_format: str = "lines"
    # What to do with undecodable bytes: "strict" stops with the file and line.
    errors: str = "strict"
    # 128 tokens is google-research/bert's phase-1 length.
    seq_length: int = 128
    # BERT: at most this many masked positions per sequence (google-research/bert: 20 at 128).
    max_predictions: int = 20
    # BERT masking unit: token (BERT), whole-word, ngram (Model Garden) or span (SpanBERT).
    masking: str = "token"
    # BERT next-sentence prediction; RoBERTa and SpanBERT drop it.
    nsp: bool = True
    # BERT: mix UniLM's bidirectional, left-to-right and seq2seq attention masks per example.
    unilm: bool = False
    # One document in `heldout_every` goes to the held-out split used for evaluation.
    heldout_every: int = 20
    # Seed of the example builder; a resumed run offsets it by the step it resumes at.
    seed: int = 0


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
class ElectraConfig(_Replaceable):
    # Encoder blocks of the generator (None: a quarter of the backbone's, at least one).
    generator_layers: int = None
    # Weight of the replaced-token-detection loss beside the generator's masked-LM loss (ELECTRA: 50).
    discriminator_weight: float = 50.0


@dataclasses.dataclass(frozen=True)
class PretrainConfig(RunConfig):
    model: str = "bert"
    # Backbone size (`layers.BACKBONE_SIZES`); `backbone` below records the built config.
    preset: str = "tiny"
    tokenizer: TokenizerConfig = TokenizerConfig()
    data: DataConfig = DataConfig()
    training: TrainingConfig = TrainingConfig()
    # Used by model "electra" only.
    electra: ElectraConfig = ElectraConfig()
    # The backbone's `get_config()`, filled in when the model is built.
    backbone: dict = None

    @classmethod
    def from_dict(cls, config):
        sections = {
            "tokenizer": TokenizerConfig,
            "data": DataConfig,
            "training": TrainingConfig,
            "electra": ElectraConfig,
        }
        model = config.get("model", cls.model)
        if model not in MODELS:  # another objective's run (seq2seq, elmo) or not a run at all
            raise UsageError(
                f"a {model!r} run; this needs the output of `pretrain {' | '.join(MODELS)}` "
                f"(model one of {', '.join(MODELS)})"
            )
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise UsageError(f"unknown config keys {unknown} (written by another version?); expected {sorted(known)}")
        values = dict(config)
        for name, section in sections.items():
            values[name] = _section_from_dict(section, name, config.get(name, {}))
        return cls(**values).validated()

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
        _check_choice("masking", self.data.masking, MASKING_MODES)
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
            ("max_predictions", self.data.max_predictions, 1),
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
        if self.model == "electra" and (self.data.nsp or self.data.unilm):
            raise UsageError(
                "electra learns replaced-token detection only: set data.nsp and data.unilm to false"
            )
        if self.electra.generator_layers is not None and self.electra.generator_layers < 1:
            raise UsageError(f"generator_layers must be at least 1, got {self.electra.generator_layers}")
        if self.electra.discriminator_weight <= 0:
            raise UsageError(f"discriminator_weight must be positive, got {self.electra.discriminator_weight}")
        if self.training.learning_rate <= 0:
            raise UsageError(f"learning_rate must be positive, got {self.training.learning_rate}")
        return self


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
