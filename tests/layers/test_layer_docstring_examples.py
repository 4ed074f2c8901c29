"""Every `Example:` in the layers' docstrings runs and prints what it shows."""

import doctest
import importlib

import pytest

MODULES = [
    "layers.bert_embedding",
    "layers.bert_encoder",
    "layers.feed_forward",
    "layers.gpt_decoder",
    "layers.masked_lm_head",
    "layers.multi_head_attention",
    "layers.next_sentence_head",
    "layers.position_embedding",
    "layers.segment_embedding",
    "layers.sinusoidal_position_encoding",
    "layers.token_embedding",
    "layers.transformer_decoder_block",
    "layers.transformer_encoder_block",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    failures, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0
    assert failures == 0
