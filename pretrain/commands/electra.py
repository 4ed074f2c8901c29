"""Pretrain a BERT encoder as ELECTRA's discriminator (replaced-token detection) on your corpus.

A small generator learns masked LM on the masked text; the encoder, the one
exported for fine-tuning, learns for every token whether the generator
replaced it (Clark et al., 2020), so it learns from every position, not only
from the 15% that are masked. Same pipeline, vocabulary, checkpoints, resume,
TensorBoard logs and outputs as `pretrain bert` (which it takes every option
of, next-sentence prediction aside).

Example:

    pretrain electra --corpus corpora/*/pretrain --corpus-format prose --output runs/electra \\
        --preset tiny --steps 4000 --batch-size 64 --learning-rate 1e-3 --masking whole-word
    pretrain finetune classify --model runs/electra --train train.csv --test test.csv --output runs/clf
"""

from pretrain.commands import pretrain_arguments


def add_arguments(parser):
    pretrain_arguments.add_arguments(parser, "electra")


def run(args):
    return pretrain_arguments.run(args, "electra")
