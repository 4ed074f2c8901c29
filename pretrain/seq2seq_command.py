"""Pretrain an encoder–decoder Transformer with T5 span corruption on your corpus.

Trains a WordPiece vocabulary (unless --vocab) and appends the sentinels
[unused0] .. [unusedN-1]; cuts the corpus into windows, drops ~15% of each
window's tokens in spans of mean length 3 (each span becomes one sentinel in
the encoder input; the decoder reproduces sentinel + span pairs); trains with
teacher forcing and AdamW (warmup then linear decay); reports held-out
reconstruction accuracy and perplexity; writes checkpoints, TensorBoard logs,
model.keras and a serving SavedModel (strings in, beam-search decoded strings
out) in OUTPUT/serving. Rerun the same command to resume from the last
checkpoint.

Example:

    pretrain seq2seq --corpus enwiki.xml.bz2 --corpus-format wikixml \\
        --output runs/t5 --preset mini --steps 2000 --batch-size 32
"""

import os

from pretrain.corpus import add_corpus_arguments
from pretrain.pretrain_config import PRESETS


def add_arguments(parser):
    from pretrain.seq2seq_pretrainer import Seq2SeqPretrainConfig

    defaults = Seq2SeqPretrainConfig()
    data, training, decoding = defaults.data, defaults.training, defaults.decoding
    add_corpus_arguments(parser)
    parser.add_argument("--output", required=True, metavar="DIR", help="output directory (see above)")
    vocab = parser.add_mutually_exclusive_group()
    vocab.add_argument("--vocab", metavar="FILE", help="an existing vocab.txt; sentinels are appended if missing")
    vocab.add_argument(
        "--vocab-size", type=int, default=defaults.tokenizer.vocabulary_size,
        help="size of the WordPiece vocabulary trained on the corpus, before the sentinels (default %(default)s)",
    )
    parser.add_argument("--cased", action="store_true", help="keep case and accents (default: uncased)")
    parser.add_argument(
        "--preset", choices=PRESETS, default=defaults.preset,
        help="size of encoder and decoder each: tiny (2 layers, 128 hidden), mini (4, 256), "
        "small (4, 512), base (12, 768) (default %(default)s)",
    )
    parser.add_argument(
        "--separate-embeddings", action="store_true",
        help="give encoder and decoder their own token embeddings (default: shared, as T5 and BART)",
    )
    parser.add_argument("--steps", type=int, default=training.steps, help="optimizer updates (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=training.batch_size, help="(default %(default)s)")
    parser.add_argument(
        "--learning-rate", type=float, default=training.learning_rate, help="peak rate (default %(default)s)"
    )
    parser.add_argument(
        "--warmup-fraction", type=float, default=training.warmup_fraction,
        help="fraction of updates with linear warmup, then linear decay (default %(default)s)",
    )
    parser.add_argument(
        "--checkpoint-every", type=int, default=training.checkpoint_every,
        help="updates between checkpoints and held-out evaluations (default %(default)s)",
    )
    parser.add_argument(
        "--eval-batches", type=int, default=training.eval_batches,
        help="held-out batches per evaluation, 0 for none (default %(default)s)",
    )
    parser.add_argument(
        "--heldout-every", type=int, default=data.heldout_every,
        help="hold out one document in N for evaluation (default %(default)s)",
    )
    parser.add_argument(
        "--input-length", type=int, default=data.input_length,
        help="encoder tokens per example, sentinels and [SEP] included (default %(default)s)",
    )
    parser.add_argument(
        "--noise-density", type=float, default=data.noise_density,
        help="fraction of tokens dropped into spans (default %(default)s, T5)",
    )
    parser.add_argument(
        "--mean-span-length", type=float, default=data.mean_span_length,
        help="mean length of a dropped span (default %(default)s, T5)",
    )
    parser.add_argument(
        "--num-sentinels", type=int, default=data.num_sentinels,
        help="sentinel tokens [unused0].. appended to the vocabulary (default %(default)s)",
    )
    parser.add_argument(
        "--num-beams", type=int, default=decoding.num_beams,
        help="beam width of the serving model, 1 = greedy (default %(default)s)",
    )
    parser.add_argument(
        "--length-penalty", type=float, default=decoding.length_penalty,
        help="GNMT length penalty ranking the serving model's final beams, 0 = raw score (default %(default)s)",
    )
    parser.add_argument(
        "--max-decode-length", type=int, default=decoding.max_length,
        help="decoder positions of the serving model (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of initialisation and spans (default 0)")


def config_from_args(args):
    from pretrain.seq2seq_pretrainer import DecodingConfig, Seq2SeqPretrainConfig

    defaults = Seq2SeqPretrainConfig()
    return Seq2SeqPretrainConfig(
        preset=args.preset,
        share_embeddings=not args.separate_embeddings,
        tokenizer=defaults.tokenizer.replace(
            vocabulary_size=args.vocab_size, lowercase=not args.cased, strip_accents=not args.cased
        ),
        data=defaults.data.replace(
            corpus=tuple(os.path.abspath(p) for p in args.corpus),
            corpus_format=args.corpus_format,
            errors=args.errors,
            heldout_every=args.heldout_every,
            input_length=args.input_length,
            noise_density=args.noise_density,
            mean_span_length=args.mean_span_length,
            num_sentinels=args.num_sentinels,
            seed=args.seed,
        ),
        training=defaults.training.replace(
            steps=args.steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            warmup_fraction=args.warmup_fraction,
            checkpoint_every=args.checkpoint_every,
            eval_batches=args.eval_batches,
            seed=args.seed,
        ),
        decoding=DecodingConfig(
            num_beams=args.num_beams, max_length=args.max_decode_length, length_penalty=args.length_penalty
        ),
    ).validated()


def run(args):
    from pretrain.seq2seq_pretrainer import run_seq2seq_pretraining

    run_seq2seq_pretraining(config_from_args(args), args.output, vocab_file=args.vocab)
    return 0
