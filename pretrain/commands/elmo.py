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

from pretrain.commands.model_run_arguments import (
    add_run_arguments,
    data_from_args,
    tokenizer_from_args,
    training_from_args,
)


def add_arguments(parser):
    from pretrain.objectives.elmo_pretrainer import INPUT_TYPES, ElmoPretrainConfig

    defaults = ElmoPretrainConfig()
    add_run_arguments(parser, defaults, vocab_help="an existing WordPiece vocab.txt")
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


def config_from_args(args):
    from pretrain.objectives.elmo_pretrainer import ElmoPretrainConfig

    defaults = ElmoPretrainConfig()
    return ElmoPretrainConfig(
        num_layers=args.num_layers,
        hidden_dim=args.hidden_dim,
        dropout=args.dropout,
        input_type=args.input_type,
        max_characters=args.max_characters,
        tokenizer=tokenizer_from_args(args, defaults),
        data=data_from_args(args, defaults, seq_length=args.seq_length),
        training=training_from_args(args, defaults),
    ).validated()


def run(args):
    from pretrain.runs.elmo_run import run_elmo_pretraining
    from pretrain.training.loop import format_metrics

    metrics = run_elmo_pretraining(config_from_args(args), args.output, vocab_file=args.vocab)
    print(f"Finished at step {int(metrics['step'])}: {format_metrics(metrics)}")
    return 0
