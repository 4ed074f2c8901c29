"""The options several commands share, declared once: the same flag means the same thing everywhere.

- `--corpus PATH...`, `--corpus-format`, `--errors`: what text to read and how (every command that reads a corpus).
- `--output DIR`: where the command writes (its help says what).
- `--cased`: keep case and accents; without it text is lower-cased and accents are stripped, as BERT-uncased.
- `--strategy`: how training is distributed (default, mirrored, multi-worker).
- `--seed N`: the seed of everything random in the command.
- `positive_int`: the type of every count (steps, sizes, epochs, ...), with a one-line error for 0 or text.

Each `add_*` takes `default`: the value shown in `--help` and used when the flag is absent. The
`bert`, `electra` and `gpt` commands pass `default=None` ("not given"): their configuration starts from
`--config FILE` or the config's defaults, and only the options given override it.

Example:

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_corpus_options(parser)
>>> add_casing_option(parser)
>>> args = parser.parse_args(["--corpus", "a.txt", "b/", "--cased"])
>>> args.corpus, args.corpus_format, args.errors, args.cased
(['a.txt', 'b/'], 'lines', 'strict', True)
"""

import argparse

from pretrain.text.corpus import CORPUS_FORMATS, ERROR_POLICIES
from pretrain.training.pretrain_config import STRATEGIES


def positive_int(text):
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def add_corpus_options(parser, required=True, corpus_format="lines", errors="strict"):
    """`--corpus`, `--corpus-format` and `--errors`; `required=False` where `--config` can name the corpus."""
    parser.add_argument(
        "--corpus", nargs="+", required=required, metavar="PATH",
        help="text files, directories or glob patterns (plain, .gz or .bz2)"
        + ("" if required else "; required unless --config names them"),
    )
    parser.add_argument(
        "--corpus-format", choices=CORPUS_FORMATS, default=corpus_format,
        help="lines: one sentence per line, blank line between documents (default); "
        "prose: paragraphs split into sentences, blank line between documents; "
        "wikixml: a MediaWiki XML dump",
    )
    parser.add_argument(
        "--errors", choices=ERROR_POLICIES, default=errors,
        help="undecodable bytes: strict stops with the file and line (default), "
        "replace substitutes U+FFFD, skip drops the line",
    )


def add_output_option(parser, what):
    """`--output DIR` (required); `what` says what the command writes there."""
    parser.add_argument("--output", required=True, metavar="DIR", help=f"output directory (created): {what}")


def add_casing_option(parser, note=""):
    """`--cased`: keep case and accents (default: lower-case and strip accents)."""
    parser.add_argument(
        "--cased", action="store_true",
        help="keep case and accents (default: lower-case and strip accents, as BERT-uncased)" + note,
    )


def add_strategy_option(parser, default="default"):
    """`--strategy`: how training is distributed; with `default=None` the configuration's applies."""
    parser.add_argument(
        "--strategy", choices=STRATEGIES, default=default,
        help="default (one device, the default), mirrored (all local GPUs/CPUs) or multi-worker "
        "(cluster from the TF_CONFIG environment variable; run the command on every worker)",
    )


def add_seed_option(parser, default=0, what="initialisation, shuffling and masking"):
    """`--seed N`; with `default=None` the configuration's seed (0) applies."""
    shown = 0 if default is None else default
    parser.add_argument("--seed", type=int, default=default, metavar="N", help=f"seed of {what} (default {shown})")
