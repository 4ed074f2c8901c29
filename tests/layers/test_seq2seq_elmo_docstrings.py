"""Every docstring example of the seq2seq and ELMo modules runs and prints what it shows."""

import doctest
import importlib

import pytest

MODULES = [
    "layers.elmo",
    "layers.seq2seq_transformer",
    "pretrain.elmo_pretrainer",
    "pretrain.seq2seq_pretrainer",
    "pretrain.span_corruption",
    "pretrain.token_windows",
    "tasks.seq2seq_decoding",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    failures, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0
    assert failures == 0
