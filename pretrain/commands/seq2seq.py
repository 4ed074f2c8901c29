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

from pretrain.commands.model_run_arguments import (
    add_run_arguments,
    data_from_args,
    tokenizer_from_args,
    training_from_args,
)
from pretrain.training.pretrain_config import PRESETS


def add_arguments(parser):
    from pretrain.objectives.seq2seq_pretrainer import Seq2SeqPretrainConfig

    defaults = Seq2SeqPretrainConfig()
    data, decoding = defaults.data, defaults.decoding
    add_run_arguments(
        parser, defaults, vocab_help="an existing vocab.txt; sentinels are appended if missing",
        seed_help="initialisation and spans",
    )
    parser.add_argument(
        "--preset", choices=PRESETS, default=defaults.preset,
        help="size of encoder and decoder each: tiny (2 layers, 128 hidden), mini (4, 256), "
        "small (4, 512), base (12, 768) (default %(default)s)",
    )
    parser.add_argument(
        "--separate-embeddings", action="store_true",
        help="give encoder and decoder their own token embeddings (default: shared, as T5 and BART)",
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


def config_from_args(args):
    from pretrain.objectives.seq2seq_pretrainer import DecodingConfig, Seq2SeqPretrainConfig

    defaults = Seq2SeqPretrainConfig()
    return Seq2SeqPretrainConfig(
        preset=args.preset,
        share_embeddings=not args.separate_embeddings,
        tokenizer=tokenizer_from_args(args, defaults),
        data=data_from_args(
            args, defaults,
            input_length=args.input_length,
            noise_density=args.noise_density,
            mean_span_length=args.mean_span_length,
            num_sentinels=args.num_sentinels,
            seed=args.seed,
        ),
        training=training_from_args(args, defaults),
        decoding=DecodingConfig(
            num_beams=args.num_beams, max_length=args.max_decode_length, length_penalty=args.length_penalty
        ),
    ).validated()


def run(args):
    from pretrain.runs.seq2seq_run import run_seq2seq_pretraining
    from pretrain.training.loop import format_metrics

    metrics = run_seq2seq_pretraining(config_from_args(args), args.output, vocab_file=args.vocab)
    print(f"Finished at step {int(metrics['step'])}: {format_metrics(metrics)}")
    return 0
