"""Another worker of a multi-worker run tokenizes with the vocabulary the chief trained, never its own."""

import threading
import time

import pytest

from pretrain.errors import UsageError
from pretrain.runs.run_vocabulary import file_stamp, wait_for_chief_vocabulary
from pretrain.text.tokenizer import SPECIAL_TOKENS, load_vocabulary, save_vocabulary

CHIEF_TOKENS = [*SPECIAL_TOKENS, "the", "chief", "##s"]


def write_later(path, tokens, delay):
    thread = threading.Timer(delay, save_vocabulary, args=(tokens, str(path)))
    thread.start()
    return thread


def test_a_worker_waits_for_the_chiefs_vocabulary(tmp_path):
    path = tmp_path / "vocab.txt"
    stamp = file_stamp(str(path))
    assert stamp is None
    writer = write_later(path, CHIEF_TOKENS, 0.3)
    start = time.monotonic()
    assert wait_for_chief_vocabulary(str(path), stamp, timeout=30, poll=0.05) == CHIEF_TOKENS
    assert time.monotonic() - start >= 0.25
    writer.join()


def test_a_vocabulary_left_by_an_earlier_attempt_is_not_taken_for_the_chiefs(tmp_path):
    path = tmp_path / "vocab.txt"
    save_vocabulary([*SPECIAL_TOKENS, "stale"], str(path))
    stamp = file_stamp(str(path))
    time.sleep(0.01)  # the chief's write gets a later modification time
    writer = write_later(path, CHIEF_TOKENS, 0.3)
    assert wait_for_chief_vocabulary(str(path), stamp, timeout=30, poll=0.05) == CHIEF_TOKENS
    writer.join()
    assert load_vocabulary(str(path)) == CHIEF_TOKENS


def test_a_chief_that_never_writes_is_a_clear_error(tmp_path):
    path = tmp_path / "vocab.txt"
    with pytest.raises(UsageError, match=f"the chief did not write its vocabulary {path} within 0 s.*--vocab FILE"):
        wait_for_chief_vocabulary(str(path), None, timeout=0.2, poll=0.05)
