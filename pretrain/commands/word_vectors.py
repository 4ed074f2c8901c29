"""What the `word2vec`, `fasttext` and `glove` commands share: arguments, reading the
corpus once, and evaluating and exporting the vectors."""

import json
import os
import tempfile
import time

from tqdm import tqdm

from pretrain.commands.options import (
    add_corpus_options,
    add_output_option,
    add_seed_option,
    add_strategy_option,
    positive_int,
)
from pretrain.embeddings.word_corpus import EncodedCorpus
from pretrain.embeddings.word_vector_eval import evaluate, format_report, nearest_neighbours
from pretrain.embeddings.word_vector_export import export_all
from pretrain.errors import UsageError
from pretrain.text.corpus import read_documents
from pretrain.training.loop import create_strategy, is_chief


def add_common_arguments(parser, config):
    """Corpus, output and the options every trainer has; defaults from the `config` dataclass."""
    add_corpus_options(parser)
    add_output_option(parser, "vectors.txt, vectors.bin, the SavedModel, metrics.json, logs/")
    parser.add_argument("--dim", type=positive_int, default=config.dim, help=f"vector size (default {config.dim})")
    parser.add_argument("--window", type=positive_int, default=config.window,
                        help=f"context window (default {config.window})")
    parser.add_argument("--min-count", type=positive_int, default=config.min_count,
                        help=f"drop words seen fewer times (default {config.min_count})")
    parser.add_argument("--max-vocab", type=positive_int, help="keep at most this many most frequent words")
    parser.add_argument("--epochs", type=positive_int, default=config.epochs,
                        help=f"passes over the corpus (default {config.epochs})")
    parser.add_argument("--learning-rate", type=float, default=config.learning_rate,
                        help=f"initial learning rate (default {config.learning_rate})")
    add_seed_option(parser, default=config.seed, what="initialisation and sampling")
    add_strategy_option(parser)
    parser.add_argument("--no-eval", dest="evaluate", action="store_false",
                        help="skip the WordSim-353/SimLex-999/analogy evaluation and the neighbours (1-3 s)")


def common_config_values(args):
    return {"dim": args.dim, "window": args.window, "min_count": args.min_count, "max_vocab": args.max_vocab,
            "epochs": args.epochs, "learning_rate": args.learning_rate, "seed": args.seed}


def read_corpus(args, directory):
    """Tokenise the corpus once into `directory`, with a words/s counter."""
    start = time.perf_counter()
    documents = read_documents(args.corpus, args.corpus_format, args.errors)
    with tqdm(desc="reading corpus", unit=" words", unit_scale=True, mininterval=1.0) as progress:
        corpus = EncodedCorpus.build(documents, directory, progress.update)
    rate = corpus.num_tokens / (time.perf_counter() - start)
    print(f"corpus: {corpus.num_tokens:,} words in {corpus.num_documents:,} documents, "
          f"{len(corpus.counts):,} distinct ({rate:,.0f} words/s)")
    return corpus


def run_trainer(args, config, train):
    """Create the strategy, read the corpus, `train(config, corpus, strategy, work_dir, log_dir)`
    -> (vectors, history), then export and (unless --no-eval) evaluate on the chief. Prints the seconds
    of each phase and keeps them in metrics.json."""
    strategy = create_strategy(args.strategy)
    if os.path.isfile(args.output):
        raise UsageError(f"--output {args.output} is a file; give a directory.")
    os.makedirs(args.output, exist_ok=True)
    chief = is_chief(strategy)
    log_dir = os.path.join(args.output, "logs") if chief else None
    seconds, start = {}, time.perf_counter()
    with tempfile.TemporaryDirectory(dir=args.output, prefix=".work-") as work_dir:
        corpus = read_corpus(args, work_dir)
        seconds["corpus"], start = time.perf_counter() - start, time.perf_counter()
        vectors, history = train(config, corpus, strategy, work_dir, log_dir)
        seconds["training"], start = time.perf_counter() - start, time.perf_counter()
    if not chief:
        return 0
    config.save(os.path.join(args.output, "config.json"))
    paths = export_all(vectors, args.output)
    seconds["export"], start = time.perf_counter() - start, time.perf_counter()
    metrics = {"epochs": history, "vocabulary_size": len(vectors.words)}
    if args.evaluate:
        metrics["evaluation"], metrics["neighbours"] = evaluate(vectors), nearest_neighbours(vectors)
        print(format_report(metrics["evaluation"], metrics["neighbours"]))
        seconds["evaluation"] = time.perf_counter() - start
    metrics["seconds"] = seconds
    with open(os.path.join(args.output, "metrics.json"), "w", encoding="utf-8") as file:
        json.dump(metrics, file, indent=2)
    print(f"wrote {len(vectors.words):,} vectors of size {vectors.dim} to {', '.join(paths.values())}")
    print("seconds: " + ", ".join(f"{name} {value:.1f}" for name, value in seconds.items()))
    return 0
