"""GPT windows on the Wikipedia sample: labels shifted by one, documents joined by [SEP]."""

import numpy as np
import pytest

from pretrain.errors import UsageError
from pretrain.examples.gpt_examples import gpt_dataset
from pretrain.text.corpus import read_documents
from pretrain.text.tokenizer import SEP_ID, WordPieceTokenizer
from tests.helpers.pipeline_data import write_wiki_lines


@pytest.fixture(scope="module")
def wiki(wiki_sample_path):
    corpus, vocabulary = write_wiki_lines(wiki_sample_path)
    return corpus, WordPieceTokenizer(vocabulary)


def test_windows_cover_the_token_stream(wiki):
    corpus, tokenizer = wiki
    windows = list(gpt_dataset(corpus, tokenizer, seq_length=256).batch(1024).as_numpy_iterator())
    inputs = np.concatenate([w["input_ids"] for w in windows])
    labels = np.concatenate([w["labels"] for w in windows])
    assert inputs.shape[1] == 256 and len(inputs) > 2000
    assert (labels[:, :-1] == inputs[:, 1:]).all()
    assert (labels[:-1, -1] == inputs[1:, 0]).all()

    documents = list(read_documents(corpus))
    stream = []
    for document in documents:
        stream.extend(tokenizer.tokenize_flat(document).flat_values.numpy().tolist() + [SEP_ID])
    assert inputs.reshape(-1).tolist() == stream[: inputs.size]
    assert len(stream) - inputs.size <= 256  # only the last partial window is dropped
    assert (inputs == SEP_ID).sum() >= len(documents) - 2


def test_shuffled_windows_are_reproducible(wiki):
    corpus, tokenizer = wiki
    first = [w["input_ids"] for w in gpt_dataset(corpus, tokenizer, 128, seed=4, shuffle_buffer=100).take(20)]
    again = [w["input_ids"] for w in gpt_dataset(corpus, tokenizer, 128, seed=4, shuffle_buffer=100).take(20)]
    plain = [w["input_ids"] for w in gpt_dataset(corpus, tokenizer, 128).take(20)]
    assert all((a.numpy() == b.numpy()).all() for a, b in zip(first, again))
    assert any((a.numpy() != b.numpy()).any() for a, b in zip(first, plain))


def test_too_short_windows_are_rejected(wiki):
    corpus, tokenizer = wiki
    with pytest.raises(UsageError, match="--seq-length 1"):
        gpt_dataset(corpus, tokenizer, seq_length=1)

