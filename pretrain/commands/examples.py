"""Build masked BERT pretraining examples from a corpus into sharded TFRecords.

Reads the corpus streaming, makes NSP sentence pairs as google-research/bert's
create_pretraining_data.py does (or full-sentence single segments with
--no-nsp), masks them (token, whole-word, ngram or span) and writes
OUTPUT/examples-0000i-of-0000n.tfrecord with google-research/bert's feature names,
plus OUTPUT/examples.json describing them. `pretrain bert` can also build the
same examples on the fly, with new masks every epoch.

Example:
  pretrain examples --corpus wiki.txt --vocab run/vocab.txt --output examples/ \\
      --masking whole-word --seq-length 128 --max-predictions 20 --seed 1
"""

import json
import os
import time

from pretrain.commands.options import add_casing_option, add_corpus_options, add_output_option, positive_int
from pretrain.errors import UsageError
from pretrain.examples.masking import MASKING_MODES


def add_arguments(parser):
    add_corpus_options(parser)
    parser.add_argument("--vocab", required=True, metavar="FILE", help="vocab.txt from `pretrain vocab`")
    add_output_option(parser, "the TFRecord shards")
    parser.add_argument("--masking", choices=MASKING_MODES, default="token",
                        help="token (BERT), whole-word, ngram (ERNIE, 1..--max-ngram words) or span "
                        "(SpanBERT, geometric p=0.2, 1..10 words); default: token")
    parser.add_argument("--seq-length", type=positive_int, default=128, metavar="N",
                        help="tokens per example (default: 128)")
    parser.add_argument("--max-predictions", type=positive_int, default=20, metavar="N",
                        help="masked positions per example (default: 20)")
    parser.add_argument("--masked-lm-prob", type=float, default=0.15, metavar="P",
                        help="fraction of tokens masked (default: 0.15)")
    parser.add_argument("--max-ngram", type=positive_int, default=3, metavar="N",
                        help="longest n-gram for --masking ngram (default: 3)")
    parser.add_argument("--short-seq-prob", type=float, default=0.1, metavar="P",
                        help="probability of a shorter target length (default: 0.1)")
    parser.add_argument("--no-nsp", dest="nsp", action="store_false",
                        help="single-segment full-sentence examples, no next-sentence pairs")
    parser.add_argument("--dupe-factor", type=positive_int, default=1, metavar="N",
                        help="passes over the corpus, each with new pairs and masks (default: 1)")
    parser.add_argument("--num-shards", type=positive_int, default=1, metavar="N", help="output files (default: 1)")
    parser.add_argument("--seed", type=int, default=None, metavar="N", help="same seed, same examples")
    add_casing_option(parser, note="; must match `pretrain vocab`")


def run(args):
    from pretrain.examples.bert_examples import bert_dataset
    from pretrain.examples.tfrecords import write_tfrecords
    from pretrain.text.corpus import expand_paths
    from pretrain.text.tokenizer import WordPieceTokenizer

    _check(args)
    expand_paths(args.corpus)
    tokenizer = WordPieceTokenizer(args.vocab, lowercase=not args.cased, strip_accents=not args.cased)
    started = time.time()
    dataset = bert_dataset(
        args.corpus,
        tokenizer,
        seq_length=args.seq_length,
        max_predictions=args.max_predictions,
        masking=args.masking,
        nsp=args.nsp,
        corpus_format=args.corpus_format,
        errors=args.errors,
        seed=args.seed,
        short_seq_prob=args.short_seq_prob,
        masked_lm_prob=args.masked_lm_prob,
        max_ngram=args.max_ngram,
    ).repeat(args.dupe_factor)
    paths, count = write_tfrecords(dataset, args.output, args.num_shards)
    description = {
        "examples": count,
        "files": [os.path.basename(p) for p in paths],
        "vocabulary": os.path.abspath(args.vocab),
        **{k: getattr(args, k) for k in (
            "seq_length", "max_predictions", "masking", "masked_lm_prob", "max_ngram", "short_seq_prob",
            "nsp", "dupe_factor", "seed", "corpus", "corpus_format")},
        "lowercase": not args.cased,
        "strip_accents": not args.cased,
    }
    with open(os.path.join(args.output, "examples.json"), "w", encoding="utf-8") as file:
        json.dump(description, file, indent=2)
    seconds = time.time() - started
    print(f"wrote {count} examples to {len(paths)} file(s) in {args.output} "
          f"({seconds:.1f} s, {count / seconds:.0f} examples/s)")
    return 0


def _check(args):
    if args.seq_length < 8:
        raise UsageError(f"--seq-length {args.seq_length} is too short; use at least 8")
    if not 1 <= args.max_predictions <= args.seq_length:
        raise UsageError(f"--max-predictions {args.max_predictions} must be in [1, --seq-length]")
    if os.path.isfile(args.output):
        raise UsageError(f"--output {args.output} is a file; give a directory")
