"""The vocabulary of a run (`OUTPUT/vocab.txt`): the resumed run's own, a given file, or trained on the corpus.

A multi-worker run trains it on the chief only; every other worker waits for
the chief's file and tokenizes with it (`wait_for_chief_vocabulary`), since
one it trained itself could differ (the `tokenizers` trainer breaks frequency
ties differently in each process). An objective may complete the tokens it
is given or trains (seq2seq appends its sentinels) before they are written.

Example:

>>> import os, tempfile
>>> from pretrain.text.tokenizer import SPECIAL_TOKENS
>>> output = tempfile.mkdtemp()
>>> given = os.path.join(output, "given.txt")
>>> save_vocabulary([*SPECIAL_TOKENS, "cat"], given)
>>> tokens = prepare_vocabulary(None, output, None, given, resuming=False, chief=True,
...                             complete=lambda tokens: tokens + ["[unused0]"])
>>> tokens[-2:], load_vocabulary(os.path.join(output, "vocab.txt")) == tokens
(['cat', '[unused0]'], True)
"""

import logging
import os
import time

from pretrain.atomic_files import atomic_file
from pretrain.errors import UsageError
from pretrain.text.corpus import read_documents
from pretrain.text.tokenizer import load_vocabulary, save_vocabulary, train_vocabulary

logger = logging.getLogger(__name__)

# How long another worker of a multi-worker run waits for the chief's trained vocabulary.
VOCABULARY_WAIT_SECONDS = 3600


def file_stamp(path):
    """`(modification time, size)` of `path`, or None if it does not exist."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_size


def wait_for_chief_vocabulary(path, stamp_before, timeout=VOCABULARY_WAIT_SECONDS, poll=0.5):
    """The tokens of the vocabulary the chief writes at `path`, once it differs from `stamp_before`.

    `stamp_before` is `file_stamp(path)` taken when the run started, so a `vocab.txt` left by an earlier
    attempt is not mistaken for the chief's new one.
    """
    deadline = time.monotonic() + timeout
    while file_stamp(path) in (None, stamp_before):
        if time.monotonic() > deadline:
            raise UsageError(
                f"the chief did not write its vocabulary {path} within {timeout:.0f} s; OUTPUT must be on a "
                "file system every worker sees, or give every worker the same --vocab FILE"
            )
        time.sleep(poll)
    logger.info(f"Using the chief's vocabulary {path}")
    return load_vocabulary(path)


def prepare_vocabulary(config, output_dir, data_dir, vocab_file, resuming, chief, stamp_before=None,
                       complete=list):
    """The vocabulary tokens, written to `OUTPUT/vocab.txt` by the chief.

    Args:
        config: the run's config (its `tokenizer` and `data.corpus` when a vocabulary is trained).
        output_dir: str. The run's OUTPUT.
        data_dir: str. Holds the corpus split; a vocabulary is trained on its `train.txt`.
        vocab_file: str or None. A vocabulary to use instead of training one.
        resuming: bool. The run resumes: its own `vocab.txt` is used (and `vocab_file` must match it).
        chief: bool. Another worker waits for the chief's vocabulary instead of training one.
        stamp_before: `file_stamp(OUTPUT/vocab.txt)` when another worker started.
        complete: callable. The model's vocabulary from the tokens given or trained (the tokens as a list
            by default).
    """
    saved_path = os.path.join(output_dir, "vocab.txt")
    if resuming:
        saved = load_vocabulary(saved_path)
        if vocab_file is not None and complete(load_vocabulary(vocab_file)) != saved:
            raise UsageError(
                f"--vocab {vocab_file} differs from {saved_path}, the vocabulary of the run "
                "being resumed; drop --vocab or choose a new --output"
            )
        return saved
    if vocab_file is not None:
        tokens = load_vocabulary(vocab_file)
    elif not chief:
        return wait_for_chief_vocabulary(saved_path, stamp_before)
    else:
        size = config.tokenizer.vocabulary_size
        logger.info(f"Training a WordPiece vocabulary of {size} tokens on {', '.join(config.data.corpus)}")
        tokens = train_vocabulary(
            read_documents(os.path.join(data_dir, "train.txt")),
            size,
            lowercase=config.tokenizer.lowercase,
            strip_accents=config.tokenizer.strip_accents,
        )
    tokens = complete(tokens)
    if chief:
        with atomic_file(saved_path) as staging:  # another worker reads it as soon as it appears
            save_vocabulary(tokens, staging)
    return tokens
