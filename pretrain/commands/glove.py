"""Train GloVe word vectors on your corpus (co-occurrence counts + weighted least squares).

Counts co-occurrences in one streaming pass with bounded memory (spilling
sorted shards to disk beyond --memory-entries), then fits W and W~ with
AdaGrad; writes W + W~ in the same formats as `pretrain word2vec`.

Example:
  pretrain glove --corpus corpus.txt --output runs/glove --window 10 --epochs 15
"""

from pretrain.commands.options import positive_int
from pretrain.commands.word_vectors import add_common_arguments, common_config_values, run_trainer
from pretrain.embeddings.glove import GloVeConfig, GloVeTrainer


def add_arguments(parser):
    config = GloVeConfig()
    add_common_arguments(parser, config)
    parser.add_argument("--x-max", type=float, default=config.x_max,
                        help=f"co-occurrence count where the weight reaches 1 (default {config.x_max:g})")
    parser.add_argument("--alpha", type=float, default=config.alpha,
                        help=f"weighting exponent (default {config.alpha})")
    parser.add_argument("--batch-size", type=positive_int, default=config.batch_size,
                        help=f"co-occurrence entries per step (default {config.batch_size})")
    parser.add_argument("--memory-entries", type=positive_int, default=config.memory_entries,
                        help=f"co-occurrence entries kept in memory before spilling to disk "
                        f"(default {config.memory_entries:,}, about 12 bytes each)")


def train(config, corpus, strategy, work_dir, log_dir):
    trainer = GloVeTrainer(config, corpus, work_dir, strategy, log_dir=log_dir)
    return trainer.train(), trainer.history


def run(args):
    config = GloVeConfig(**common_config_values(args), x_max=args.x_max, alpha=args.alpha,
                         batch_size=args.batch_size, memory_entries=args.memory_entries)
    config.validate()
    return run_trainer(args, config, train)
