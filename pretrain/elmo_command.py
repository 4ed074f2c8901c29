"""Pretrain an ELMo-style bidirectional LSTM language model on your corpus.

Trains a WordPiece vocabulary (unless --vocab); cuts the corpus into windows
of --seq-length tokens; trains a forward and a backward LSTM language model
(over token embeddings, or ELMo's char-CNN over each token's bytes with
--input-type characters) with one shared softmax and AdamW; reports held-out
forward and backward perplexity; writes checkpoints, TensorBoard logs,
model.keras and the backbone SavedModel (contextual embeddings: the learned
softmax-weighted mix of layers times gamma) in OUTPUT/backbone. Rerun the
same command to resume from the last checkpoint.

Example:

    pretrain elmo --corpus books/ --corpus-format prose --output runs/elmo \\
        --hidden-dim 512 --steps 5000 --input-type characters
"""

import os

from pretrain.corpus import add_corpus_arguments


def add_arguments(parser):
    from pretrain.elmo_pretrainer import INPUT_TYPES, ElmoPretrainConfig

    defaults = ElmoPretrainConfig()
    training = defaults.training
    add_corpus_arguments(parser)
    parser.add_argument("--output", required=True, metavar="DIR", help="output directory (see above)")
    vocab = parser.add_mutually_exclusive_group()
    vocab.add_argument("--vocab", metavar="FILE", help="an existing WordPiece vocab.txt")
    vocab.add_argument(
        "--vocab-size", type=int, default=defaults.tokenizer.vocabulary_size,
        help="size of the WordPiece vocabulary trained on the corpus (default %(default)s)",
    )
    parser.add_argument("--cased", action="store_true", help="keep case and accents (default: uncased)")
    parser.add_argument(
        "--input-type", choices=INPUT_TYPES, default=defaults.input_type,
        help="tokens: an embedding per token (default); characters: char-CNN over each token's bytes",
    )
    parser.add_argument(
        "--num-layers", type=int, default=defaults.num_layers, help="LSTM layers per direction (default %(default)s)"
    )
    parser.add_argument(
        "--hidden-dim", type=int, default=defaults.hidden_dim, help="LSTM units (default %(default)s)"
    )
    parser.add_argument("--dropout", type=float, default=defaults.dropout, help="(default %(default)s)")
    parser.add_argument(
        "--max-characters", type=int, default=defaults.max_characters,
        help="characters per token with --input-type characters, markers included (default %(default)s)",
    )
    parser.add_argument(
        "--seq-length", type=int, default=defaults.data.seq_length, help="tokens per window (default %(default)s)"
    )
    parser.add_argument("--steps", type=int, default=training.steps, help="optimizer updates (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=training.batch_size, help="(default %(default)s)")
    parser.add_argument(
        "--learning-rate", type=float, default=training.learning_rate, help="peak rate (default %(default)s)"
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
        "--heldout-every", type=int, default=defaults.data.heldout_every,
        help="hold out one document in N for evaluation (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of initialisation and shuffling (default 0)")


def config_from_args(args):
    from pretrain.elmo_pretrainer import ElmoPretrainConfig

    defaults = ElmoPretrainConfig()
    return ElmoPretrainConfig(
        num_layers=args.num_layers,
        hidden_dim=args.hidden_dim,
        dropout=args.dropout,
        input_type=args.input_type,
        max_characters=args.max_characters,
        tokenizer=defaults.tokenizer.replace(
            vocabulary_size=args.vocab_size, lowercase=not args.cased, strip_accents=not args.cased
        ),
        data=defaults.data.replace(
            corpus=tuple(os.path.abspath(p) for p in args.corpus),
            corpus_format=args.corpus_format,
            errors=args.errors,
            heldout_every=args.heldout_every,
            seq_length=args.seq_length,
        ),
        training=defaults.training.replace(
            steps=args.steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            checkpoint_every=args.checkpoint_every,
            eval_batches=args.eval_batches,
            seed=args.seed,
        ),
    ).validated()


def run(args):
    from pretrain.elmo_pretrainer import run_elmo_pretraining

    run_elmo_pretraining(config_from_args(args), args.output, vocab_file=args.vocab)
    return 0
