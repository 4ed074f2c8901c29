"""Shared fixtures: real data shipped in installed packages, and quiet TensorFlow."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Test helper modules (e.g. `layer_testing`) sit beside this file.
sys.path.insert(0, os.path.dirname(__file__))

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
