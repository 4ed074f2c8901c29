"""Command-line options `pretrain seq2seq` and `pretrain elmo` share, and the configs they fill.

Each command adds its model's own options after `add_run_arguments`, then
builds its config from `tokenizer_from_args`, `data_from_args` and
`training_from_args`, passing its extra fields as keyword arguments.

Example:

>>> import argparse
>>> from pretrain.objectives.elmo_pretrainer import ElmoPretrainConfig
>>> defaults = ElmoPretrainConfig()
>>> parser = argparse.ArgumentParser()
>>> add_run_arguments(parser, defaults, vocab_help="an existing vocab.txt")
>>> args = parser.parse_args(["--corpus", "wiki.txt", "--output", "runs/x", "--steps", "50"])
>>> training_from_args(args, defaults).steps
50
"""

import os

from pretrain.commands.options import (
    add_casing_option,
    add_corpus_options,
    add_output_option,
    add_seed_option,
    positive_int,
)


def add_run_arguments(parser, defaults, vocab_help, seed_help="initialisation and shuffling"):
    """Corpus, output, vocabulary, steps, batch, learning rate, checkpoints, held-out split and seed."""
    training = defaults.training
    add_corpus_options(parser)
    add_output_option(parser, "see above")
    vocab = parser.add_mutually_exclusive_group()
    vocab.add_argument("--vocab", metavar="FILE", help=vocab_help)
    vocab.add_argument(
        "--vocab-size", type=positive_int, default=defaults.tokenizer.vocabulary_size,
        help="size of the WordPiece vocabulary trained on the corpus (default %(default)s)",
    )
    add_casing_option(parser)
    parser.add_argument("--steps", type=positive_int, default=training.steps, help="optimizer updates (default %(default)s)")
    parser.add_argument("--batch-size", type=positive_int, default=training.batch_size, help="(default %(default)s)")
    parser.add_argument(
        "--learning-rate", type=float, default=training.learning_rate, help="peak rate (default %(default)s)"
    )
    parser.add_argument(
        "--warmup-fraction", type=float, default=training.warmup_fraction,
        help="fraction of updates with linear warmup, then linear decay (default %(default)s)",
    )
    parser.add_argument(
        "--checkpoint-every", type=positive_int, default=training.checkpoint_every,
        help="updates between checkpoints and held-out evaluations (default %(default)s)",
    )
    parser.add_argument(
        "--keep-checkpoints", type=positive_int, default=training.keep_checkpoints,
        help="checkpoints kept on disk; a resume falls back to an older one if the newest is damaged "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--eval-batches", type=int, default=training.eval_batches,
        help="held-out batches per evaluation, 0 for none (default %(default)s)",
    )
    parser.add_argument(
        "--heldout-every", type=positive_int, default=defaults.data.heldout_every,
        help="hold out one document in N for evaluation (default %(default)s)",
    )
    add_seed_option(parser, what=seed_help)


def tokenizer_from_args(args, defaults):
    return defaults.tokenizer.replace(
        vocabulary_size=args.vocab_size, lowercase=not args.cased, strip_accents=not args.cased
    )


def data_from_args(args, defaults, **model_fields):
    return defaults.data.replace(
        corpus=tuple(os.path.abspath(path) for path in args.corpus),
        corpus_format=args.corpus_format,
        errors=args.errors,
        heldout_every=args.heldout_every,
        **model_fields,
    )


def training_from_args(args, defaults):
    return defaults.training.replace(
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        warmup_fraction=args.warmup_fraction,
        checkpoint_every=args.checkpoint_every,
        keep_checkpoints=args.keep_checkpoints,
        eval_batches=args.eval_batches,
        seed=args.seed,
    )
