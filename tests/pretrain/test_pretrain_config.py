"""PretrainConfig: JSON round trip, validation and load errors that name the file."""

import doctest
import re

import pytest

from pretrain.errors import UsageError
from pretrain.training import pretrain_config
from pretrain.training.pretrain_config import PretrainConfig


def test_doctests():
    assert doctest.testmod(pretrain_config).failed == 0


def test_json_round_trip(tmp_path):
    config = PretrainConfig(model="gpt", preset="mini", backbone={"num_layers": 3})
    config = config.replace(data=config.data.replace(corpus=("a.txt", "b/"), seq_length=64))
    path = str(tmp_path / "config.json")
    config.save(path)
    assert PretrainConfig.load(path) == config


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"model": "t5"}, "a 't5' run; this needs the output of `pretrain bert | electra | gpt`"),
        ({"preset": "huge"}, "preset must be one of"),
        ({"training": {"steps": 0}}, "steps must be at least 1"),
        ({"training": {"warmup_fraction": 1.0}}, "warmup_fraction must be in [0, 1)"),
        ({"data": {"masking": "random"}}, "masking must be one of token, whole-word, ngram, span"),
        ({"data": "lines"}, '"data" must be a JSON object'),
        ({"epochs": 3}, "unknown config keys ['epochs'] (written by another version?)"),
    ],
)
def test_invalid_values_are_named(changes, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        PretrainConfig.from_dict({**PretrainConfig().to_dict(), **changes})


def test_load_errors_name_the_file_and_line(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"model": "bert",\n "preset": }')
    with pytest.raises(UsageError, match=rf"{broken}:2: not valid JSON"):
        PretrainConfig.load(str(broken))
    with pytest.raises(UsageError, match="cannot read config"):
        PretrainConfig.load(str(tmp_path / "missing.json"))


def test_another_objectives_run_is_named_before_its_unknown_keys(tmp_path):
    seq2seq_run = tmp_path / "config.json"
    seq2seq_run.write_text('{"model": "seq2seq", "preset": "tiny", "decoding": {"num_beams": 4}}')
    with pytest.raises(UsageError, match=re.escape(f"{seq2seq_run}: a 'seq2seq' run; this needs the output of")):
        PretrainConfig.load(str(seq2seq_run))

