"""Train fastText subword vectors (words and unseen words) on your corpus.

Like `pretrain word2vec`, with each word's input vector the mean of its own
vector and those of its character n-grams (hashed into --buckets), so the
saved_model/ also gives vectors to words never seen in training.

Example:
  pretrain fasttext --corpus corpus.txt --output runs/ft --min-n 3 --max-n 6
"""

from pretrain.commands.options import positive_int
from pretrain.commands.word2vec import add_word2vec_arguments, word2vec_values
from pretrain.commands.word_vectors import run_trainer
from pretrain.embeddings.fasttext import FastTextConfig, train_fasttext


def add_arguments(parser):
    config = FastTextConfig()
    add_word2vec_arguments(parser, config)
    parser.add_argument("--min-n", type=positive_int, default=config.min_n,
                        help=f"shortest character n-gram (default {config.min_n})")
    parser.add_argument("--max-n", type=positive_int, default=config.max_n,
                        help=f"longest character n-gram (default {config.max_n})")
    parser.add_argument("--buckets", type=positive_int, default=config.buckets,
                        help=f"hash buckets for n-grams (default {config.buckets:,})")


def train(config, corpus, strategy, work_dir, log_dir):
    vectors = train_fasttext(config, corpus, strategy, log_dir=log_dir)
    return vectors, vectors.trainer.history


def run(args):
    config = FastTextConfig(**word2vec_values(args), min_n=args.min_n, max_n=args.max_n, buckets=args.buckets)
    config.validate()
    return run_trainer(args, config, train)
