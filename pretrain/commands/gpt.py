"""Pretrain a GPT decoder (causal language model) on your corpus.

Trains a WordPiece vocabulary (unless --vocab; [SEP] ends each document),
packs the corpus into fixed-length windows, trains with AdamW (warmup then
linear decay), reports held-out perplexity, writes checkpoints and
TensorBoard logs, and exports the decoder. Rerun the same command after an
interruption to resume from the last checkpoint.

Example:

    pretrain gpt --corpus books/ --corpus-format prose --output runs/gpt \\
        --preset mini --steps 2000 --batch-size 16 --seq-length 256
"""

from pretrain.commands import pretrain_arguments


def add_arguments(parser):
    pretrain_arguments.add_arguments(parser, "gpt")


def run(args):
    return pretrain_arguments.run(args, "gpt")
