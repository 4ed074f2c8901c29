"""Fixtures of the fine-tuning tests: tiny pretrained dirs built once per session."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from finetune_fixtures import make_pretrained_dir  # noqa: E402


@pytest.fixture(scope="session")
def bert_pretrained(tmp_path_factory, lee_corpus_path):
    """(directory, BertEncoder) of a random tiny BERT in the layout of a `pretrain` output dir."""
    return make_pretrained_dir(str(tmp_path_factory.mktemp("bert_pretrained")), lee_corpus_path, "bert")


@pytest.fixture(scope="session")
def gpt_pretrained(tmp_path_factory, lee_corpus_path):
    """(directory, GptDecoder) of a random tiny GPT in the layout of a `pretrain` output dir."""
    return make_pretrained_dir(str(tmp_path_factory.mktemp("gpt_pretrained")), lee_corpus_path, "gpt")
