"""Fixtures shared by every test folder: real data shipped in installed packages, tiny
pretrained dirs built once per session, and quiet TensorFlow.

Helpers that are not fixtures are modules of `tests.helpers`."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def wiki_sample_path():
    """gensim's Wikipedia sample: 206 pages of MediaWiki XML, bz2."""
    from gensim.test.utils import datapath

    return datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")


@pytest.fixture(scope="session")
def lee_corpus_path():
    """gensim's Lee background corpus: 300 news documents, one per line."""
    from gensim.test.utils import datapath

    return datapath("lee_background.cor")


@pytest.fixture(scope="session")
def bert_pretrained(tmp_path_factory, lee_corpus_path):
    """(directory, BertEncoder) of a random tiny BERT in the layout of a `pretrain` output dir."""
    return _tiny_pretrained_dir(tmp_path_factory, lee_corpus_path, "bert")


@pytest.fixture(scope="session")
def gpt_pretrained(tmp_path_factory, lee_corpus_path):
    """(directory, GptDecoder) of a random tiny GPT in the layout of a `pretrain` output dir."""
    return _tiny_pretrained_dir(tmp_path_factory, lee_corpus_path, "gpt")


def _tiny_pretrained_dir(tmp_path_factory, lee_corpus_path, model):
    # Imported here, not at the top: it starts TensorFlow, which tests that never ask for these dirs need not wait for.
    from tests.helpers.pretrained_dirs import make_pretrained_dir

    return make_pretrained_dir(str(tmp_path_factory.mktemp(f"{model}_pretrained")), lee_corpus_path, model)
