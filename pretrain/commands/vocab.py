"""Train a WordPiece vocabulary (BERT vocab.txt) from a corpus.

Writes OUTPUT/vocab.txt: [PAD] [UNK] [CLS] [SEP] [MASK] at ids 0-4, then the
trained pieces (continuations prefixed ##). Training uses the `tokenizers`
package; `pretrain examples` and `pretrain bert` tokenize with the same rules
in-graph (tf-text). Pass the same --cased (or not) there.

Example:
  pretrain vocab --corpus wiki/ --corpus-format prose --output run/ --vocab-size 30000
"""

import os
import time

from pretrain.commands.options import add_casing_option, add_corpus_options, add_output_option, positive_int
from pretrain.errors import UsageError
from pretrain.text.corpus import read_documents


def add_arguments(parser):
    add_corpus_options(parser)
    add_output_option(parser, "vocab.txt")
    parser.add_argument("--vocab-size", type=positive_int, default=30522, metavar="N",
                        help="tokens in the vocabulary, special tokens included (default: 30522, BERT's)")
    parser.add_argument("--min-frequency", type=positive_int, default=2, metavar="N",
                        help="pieces seen fewer times are not added (default: 2)")
    add_casing_option(parser)


def run(args):
    from tqdm import tqdm

    from pretrain.text.tokenizer import save_vocabulary, train_vocabulary

    if args.vocab_size < 6:
        raise UsageError(f"--vocab-size {args.vocab_size} must leave room beyond the 5 special tokens")
    if os.path.isfile(args.output):
        raise UsageError(f"--output {args.output} is a file; give a directory")
    started = time.time()
    documents = read_documents(args.corpus, args.corpus_format, args.errors)
    counted = tqdm(documents, desc="documents read", unit=" docs", mininterval=1.0)
    tokens = train_vocabulary(
        counted, args.vocab_size, not args.cased, not args.cased, min_frequency=args.min_frequency
    )
    counted.close()
    os.makedirs(args.output, exist_ok=True)
    path = os.path.join(args.output, "vocab.txt")
    save_vocabulary(tokens, path)
    print(f"wrote {path}: {len(tokens)} tokens from {counted.n} documents in {time.time() - started:.1f} s")
    if len(tokens) < args.vocab_size:
        print(f"note: the corpus yields only {len(tokens)} pieces seen {args.min_frequency}+ times "
              f"(asked for {args.vocab_size})")
    return 0
