"""Pretrain a BERT encoder (masked LM + next-sentence prediction) on your corpus.

Trains a WordPiece vocabulary (unless --vocab), builds masked examples in the
tf.data pipeline (new masks every epoch), trains with AdamW (warmup then
linear decay), evaluates on held-out documents, writes checkpoints and
TensorBoard logs, and exports the encoder for fine-tuning. Rerun the same
command after an interruption to resume from the last checkpoint.

Example:

    pretrain bert --corpus wiki.xml.bz2 --corpus-format wikixml --output runs/bert \\
        --preset mini --steps 2000 --batch-size 32 --seq-length 128 --masking whole-word
    tensorboard --logdir runs/bert/logs
"""

from pretrain.commands import pretrain_arguments


def add_arguments(parser):
    pretrain_arguments.add_arguments(parser, "bert")


def run(args):
    return pretrain_arguments.run(args, "bert")
