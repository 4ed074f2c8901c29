"""Train word2vec word vectors (CBOW or skip-gram) on your corpus.

Writes vectors.txt / vectors.bin (word2vec formats, gensim reads them),
saved_model/ (strings -> vectors), logs/ (TensorBoard: loss, words/s,
projector), config.json and metrics.json (WordSim-353, SimLex-999,
analogies), and prints the evaluation and nearest neighbours.

Example:
  pretrain word2vec --corpus corpus.txt --output runs/w2v --sg --epochs 5
"""

from pretrain.commands.options import positive_int
from pretrain.commands.word_vectors import add_common_arguments, common_config_values, run_trainer
from pretrain.embeddings.word2vec import Word2VecConfig, Word2VecTrainer


def add_word2vec_arguments(parser, config):
    add_common_arguments(parser, config)
    architecture = parser.add_mutually_exclusive_group()
    architecture.add_argument("--sg", dest="architecture", action="store_const", const="skipgram",
                              help="skip-gram: predict the context from the word")
    architecture.add_argument("--cbow", dest="architecture", action="store_const", const="cbow",
                              help="CBOW: predict the word from the mean of its context (default)")
    parser.set_defaults(architecture=config.architecture)
    parser.add_argument("--negative", type=int, default=config.negative,
                        help=f"negative samples per word, 0 for none (default {config.negative})")
    parser.add_argument("--hs", action="store_true", help="add hierarchical softmax (Huffman tree)")
    parser.add_argument("--sample", type=float, default=config.sample,
                        help=f"subsampling threshold, 0 to keep every word (default {config.sample})")
    parser.add_argument("--batch-tokens", type=positive_int, default=config.batch_tokens,
                        help="tokens per training step (default on the fused op: 16384 skip-gram, 4096 CBOW; "
                             "4096 on the TensorFlow step)")
    parser.add_argument("--xla", action="store_true", help="compile the step with XLA")
    parser.add_argument("--no-fused-kernel", dest="fused_kernel", action="store_false",
                        help="train with the TensorFlow step even where the fused C++ op applies")


def word2vec_values(args):
    return dict(common_config_values(args), architecture=args.architecture, negative=args.negative,
                hierarchical_softmax=args.hs, sample=args.sample, batch_tokens=args.batch_tokens,
                jit_compile=args.xla, fused_kernel=args.fused_kernel)


def add_arguments(parser):
    add_word2vec_arguments(parser, Word2VecConfig())


def train(config, corpus, strategy, work_dir, log_dir):
    trainer = Word2VecTrainer(config, corpus, strategy, log_dir=log_dir)
    return trainer.train(), trainer.history


def run(args):
    config = Word2VecConfig(**word2vec_values(args))
    config.validate()
    return run_trainer(args, config, train)
