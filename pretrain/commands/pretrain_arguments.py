"""Command-line options shared by `pretrain bert`, `pretrain electra` and `pretrain gpt`.

Every option defaults to "not given": the configuration starts from
`--config FILE` (a `config.json` written by an earlier run) or from the
defaults of the objective's config (`BertPretrainConfig`, `ElectraPretrainConfig`,
`GptPretrainConfig`), and only the options on the command line override it
(`dataclasses.replace`). An objective declares the options of the fields its
config has: masking for BERT and ELECTRA, next-sentence prediction and UniLM
for BERT, the generator for ELECTRA.
"""

import os

from pretrain.commands.options import (
    add_casing_option,
    add_corpus_options,
    add_output_option,
    add_seed_option,
    add_strategy_option,
    positive_int,
)
from pretrain.errors import UsageError
from pretrain.training.pretrain_config import (
    MASKING_MODES,
    OPTIMIZERS,
    PRECISIONS,
    PRESETS,
    TOKEN_VECTORS,
    BertDataConfig,
    ElectraPretrainConfig,
    EncoderPretrainConfig,
    MaskedDataConfig,
    config_class,
)


def add_arguments(parser, model):
    """Adds the pretraining options of `model` ("bert", "electra" or "gpt") to `parser`."""
    defaults = config_class(model)()
    data, training, tokenizer = defaults.data, defaults.training, defaults.tokenizer
    add_corpus_options(parser, required=False, corpus_format=None, errors=None)
    add_output_option(
        parser, "vocab.txt, config.json, checkpoints/, logs/, model.keras, backbone/. "
        "Rerunning the same command in it resumes from the last checkpoint",
    )
    parser.add_argument(
        "--config", metavar="FILE",
        help="start from this config.json (e.g. OUTPUT/config.json of an earlier run); "
        "options given on the command line override it",
    )
    parser.add_argument(
        "--preset", choices=PRESETS,
        help=f"backbone size: tiny (2 layers, 128 hidden), mini (4, 256), small (4, 512), "
        f"base (12, 768) (default {defaults.preset})",
    )
    parser.add_argument(
        "--attention-dropout", type=float,
        help="dropout on the attention probabilities of a new backbone (default: the preset's dropout, 0.1, "
        "as BERT and GPT-2); 0 lets JAX on a GPU use its fused attention kernel in training",
    )
    parser.add_argument("--steps", type=positive_int, help=f"optimizer updates (default {training.steps})")
    parser.add_argument(
        "--batch-size", type=positive_int,
        help=f"sequences per batch over all replicas (default {training.batch_size})",
    )
    parser.add_argument(
        "--seq-length", type=positive_int, help=f"tokens per sequence (default {data.seq_length})"
    )
    vocab = parser.add_mutually_exclusive_group()
    vocab.add_argument(
        "--vocab", metavar="FILE",
        help="an existing WordPiece vocab.txt ([PAD] [UNK] [CLS] [SEP] [MASK] first); "
        "without it a vocabulary is trained on the corpus",
    )
    vocab.add_argument(
        "--vocab-size", type=positive_int,
        help=f"size of the vocabulary trained when --vocab is absent (default {tokenizer.vocabulary_size})",
    )
    vocab.add_argument(
        "--init-from", metavar="DIR",
        help="continued (domain- or task-adaptive) pretraining: start from the weights, heads "
        "included, of the pretrain run in DIR and keep its vocabulary, tokenizer options and "
        "backbone size; the optimizer and its schedule start afresh",
    )
    parser.add_argument(
        "--token-vectors", choices=TOKEN_VECTORS,
        help="how a new run's token embedding starts: skipgram (default) trains skip-gram vectors of the "
        "vocabulary's tokens on the corpus first (a minute or two per 10M tokens; fine-tuning from small "
        "backbones gains several points, docs/pretraining.md), none starts from random values",
    )
    add_casing_option(parser)
    if isinstance(data, MaskedDataConfig):
        parser.add_argument(
            "--masking", choices=MASKING_MODES,
            help="masking unit: token (BERT, default), whole-word, ngram (1-3 words, "
            "Model Garden) or span (geometric word spans, SpanBERT)",
        )
        parser.add_argument(
            "--max-predictions", type=positive_int,
            help=f"masked positions per sequence at most (default {data.max_predictions})",
        )
    if isinstance(defaults, EncoderPretrainConfig):
        parser.add_argument(
            "--no-alibi", action="store_true",
            help="build BERT's exact encoder: no ALiBi attention biases (default: ALiBi on, so the masked LM "
            "learns from context in far fewer updates; docs/pretraining.md)",
        )
    if isinstance(defaults, ElectraPretrainConfig):
        parser.add_argument(
            "--generator-layers", type=positive_int,
            help="encoder blocks of the generator, as wide as the backbone and sharing its embeddings "
            "(default: a quarter of the backbone's blocks, at least 1)",
        )
        parser.add_argument(
            "--discriminator-weight", type=float,
            help=f"weight of the replaced-token loss beside the generator's masked-LM loss "
            f"(default {defaults.generator.discriminator_weight}, ELECTRA's)",
        )
    if isinstance(data, BertDataConfig):
        parser.add_argument(
            "--no-nsp", action="store_true",
            help="drop next-sentence prediction (RoBERTa/SpanBERT style); segments are then "
            "contiguous text",
        )
        parser.add_argument(
            "--unilm", action="store_true",
            help="mix UniLM's three objectives in one network: each example is encoded under a "
            "bidirectional, left-to-right or seq2seq (segment A sees A, segment B sees A and its "
            "own left context) attention mask, drawn at random; NSP learns on bidirectional ones",
        )
    parser.add_argument(
        "--optimizer", choices=OPTIMIZERS,
        help="adamw (default) or lamb (layer-wise trust ratio, for large batches)",
    )
    parser.add_argument(
        "--learning-rate", type=float, help=f"peak learning rate (default {training.learning_rate})"
    )
    parser.add_argument(
        "--warmup-fraction", type=float,
        help=f"fraction of the updates with linear warmup, then linear decay to 0 "
        f"(default {training.warmup_fraction})",
    )
    parser.add_argument(
        "--weight-decay", type=float,
        help=f"decoupled weight decay, LayerNorm and biases excluded (default {training.weight_decay})",
    )
    parser.add_argument(
        "--clip-norm", type=float, help=f"global gradient-norm clipping (default {training.clip_norm})"
    )
    parser.add_argument(
        "--accumulation-steps", type=positive_int,
        help="average the gradients of this many batches per update (default 1)",
    )
    parser.add_argument(
        "--precision", choices=PRECISIONS,
        help="float32 (default) or mixed precision with float32 weights",
    )
    parser.add_argument("--xla", action="store_true", help="compile the training step with XLA")
    parser.add_argument(
        "--checkpoint-every", type=positive_int,
        help=f"updates between checkpoints and held-out evaluations (default {training.checkpoint_every})",
    )
    parser.add_argument(
        "--keep-checkpoints", type=positive_int,
        help=f"checkpoints kept on disk; a resume falls back to an older one if the newest is damaged "
        f"(default {training.keep_checkpoints})",
    )
    parser.add_argument(
        "--eval-batches", type=int,
        help=f"held-out batches per evaluation, 0 for none (default {training.eval_batches})",
    )
    parser.add_argument(
        "--heldout-every", type=positive_int,
        help=f"hold out one document in N for evaluation (default {data.heldout_every})",
    )
    add_strategy_option(parser, default=None)
    add_seed_option(parser, default=None, what="initialisation and example building")


def _given(**values):
    return {name: value for name, value in values.items() if value is not None}


def config_from_args(args, model):
    """The config of `model` from `args`: `--config` (or defaults) with the given options applied."""
    cls = config_class(model)
    config = cls.load(args.config) if args.config else cls()
    # The objective's own options (`add_arguments` declares only those its config has).
    masking, max_predictions = getattr(args, "masking", None), getattr(args, "max_predictions", None)
    no_nsp, unilm = getattr(args, "no_nsp", False), getattr(args, "unilm", False)
    data = config.data.replace(
        **_given(
            corpus=tuple(os.path.abspath(p) for p in args.corpus) if args.corpus else None,
            corpus_format=args.corpus_format,
            errors=args.errors,
            seq_length=args.seq_length,
            masking=masking,
            max_predictions=max_predictions,
            nsp=False if no_nsp else None,
            unilm=True if unilm else None,
            heldout_every=args.heldout_every,
            seed=args.seed,
        )
    )
    training = config.training.replace(
        **_given(
            steps=args.steps,
            batch_size=args.batch_size,
            optimizer=args.optimizer,
            learning_rate=args.learning_rate,
            warmup_fraction=args.warmup_fraction,
            weight_decay=args.weight_decay,
            clip_norm=args.clip_norm,
            accumulation_steps=args.accumulation_steps,
            precision=args.precision,
            jit_compile=True if args.xla else None,
            checkpoint_every=args.checkpoint_every,
            keep_checkpoints=args.keep_checkpoints,
            eval_batches=args.eval_batches,
            strategy=args.strategy,
            seed=args.seed,
            init_from=os.path.abspath(args.init_from) if args.init_from else None,
            token_vectors=args.token_vectors,
        )
    )
    tokenizer = config.tokenizer.replace(
        **_given(
            vocabulary_size=args.vocab_size,
            lowercase=False if args.cased else None,
            strip_accents=False if args.cased else None,
        )
    )
    no_alibi = getattr(args, "no_alibi", False)
    if training.init_from and (args.preset or args.cased or no_alibi):
        option = "--preset" if args.preset else "--cased" if args.cased else "--no-alibi"
        raise UsageError(
            f"{option} cannot change a model that --init-from {training.init_from} continues; drop {option}"
        )
    changes = dict(data=data, training=training, tokenizer=tokenizer)
    if isinstance(config, ElectraPretrainConfig):
        changes["generator"] = config.generator.replace(
            **_given(generator_layers=args.generator_layers, discriminator_weight=args.discriminator_weight)
        )
    if args.preset is not None and args.preset != config.preset:
        changes.update(preset=args.preset, backbone=None)
    if args.attention_dropout is not None:
        changes.update(attention_dropout=args.attention_dropout)
    if no_alibi:
        changes.update(alibi=False)
    config = config.replace(**changes).validated()
    if not config.data.corpus:
        raise UsageError("no corpus given: pass --corpus PATH (or --config with a corpus)")
    return config


def run(args, model):
    """`pretrain MODEL` with the parsed `args`: trains (or resumes), exports, prints the final metrics."""
    from pretrain.runs.pretrain_run import run_pretraining  # here, so that `--help` does not start TensorFlow
    from pretrain.training.loop import format_metrics

    metrics = run_pretraining(config_from_args(args, model), args.output, vocab_file=args.vocab)
    print(f"Finished at step {int(metrics['step'])}: {format_metrics(metrics)}")
    return 0
