"""The configs of `pretrain bert|electra|gpt`: JSON round trip, validation, older versions' configs, load errors."""

import doctest
import json
import re

import pytest

from pretrain.errors import UsageError
from pretrain.training import pretrain_config
from pretrain.training.pretrain_config import (
    BertPretrainConfig,
    ElectraPretrainConfig,
    GeneratorConfig,
    GptPretrainConfig,
    PretrainConfig,
    config_class,
)


def test_doctests():
    assert doctest.testmod(pretrain_config).failed == 0


def test_json_round_trip(tmp_path):
    config = GptPretrainConfig(preset="mini", backbone={"num_layers": 3})
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
        ({"attention_dropout": 1.0}, "attention_dropout must be in [0, 1)"),
    ],
)
def test_invalid_values_are_named(changes, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        PretrainConfig.from_dict({**BertPretrainConfig().to_dict(), **changes})


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



def test_each_objective_has_only_its_own_options():
    gpt, electra, bert = GptPretrainConfig(), ElectraPretrainConfig(), BertPretrainConfig()
    assert not hasattr(gpt.data, "masking") and not hasattr(gpt, "generator")
    assert electra.data.masking == "token" and not hasattr(electra.data, "nsp")
    assert bert.data.nsp and not bert.data.unilm and not hasattr(bert, "generator")
    assert (bert.encoder, electra.encoder, gpt.encoder) == (True, True, False)
    assert (bert.pooler_trained, electra.pooler_trained, gpt.pooler_trained) == (True, False, False)
    assert not bert.replace(data=bert.data.replace(nsp=False)).pooler_trained
    assert [config_class(model)().model for model in ("bert", "electra", "gpt")] == ["bert", "electra", "gpt"]
    with pytest.raises(TypeError):
        GptPretrainConfig(model="bert")  # the class fixes the objective


def test_a_config_read_for_one_objective_refuses_anothers():
    with pytest.raises(UsageError, match=re.escape("a gpt config; use `pretrain gpt`")):
        BertPretrainConfig.from_dict(GptPretrainConfig().to_dict())
    assert isinstance(PretrainConfig.from_dict(ElectraPretrainConfig().to_dict()), ElectraPretrainConfig)


def _old_layout(config, **data):
    """`config` as versions before 2026-12-05 wrote it: every objective's keys in every run."""
    values = config.to_dict()
    values["electra"] = values.pop("generator", {"generator_layers": None, "discriminator_weight": 50.0})
    values["data"] = {"max_predictions": 20, "masking": "token", "nsp": True, "unilm": False,
                      **values["data"], **data}
    return values


@pytest.mark.parametrize("config, data", [
    (GptPretrainConfig(preset="mini"), {}),
    (ElectraPretrainConfig(generator=GeneratorConfig(generator_layers=2)), {"nsp": False, "unilm": False}),
    (BertPretrainConfig(), {}),
])
def test_run_directories_of_older_versions_still_load(tmp_path, config, data):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(_old_layout(config, **data)))
    assert PretrainConfig.load(str(path)) == config


def test_an_old_option_that_had_an_effect_is_not_dropped_silently():
    with pytest.raises(UsageError, match=re.escape("data.masking = 'ngram' does not apply to `pretrain gpt`")):
        PretrainConfig.from_dict({"model": "gpt", "data": {"masking": "ngram"}})


def test_alibi_is_on_for_new_encoders_and_off_for_runs_that_recorded_a_backbone_without_it():
    assert BertPretrainConfig().alibi and ElectraPretrainConfig().alibi and not hasattr(GptPretrainConfig(), "alibi")
    assert BertPretrainConfig().backbone_options() == {"alibi": True}
    assert GptPretrainConfig().backbone_options() == {}
    assert PretrainConfig.from_dict({"model": "bert"}).alibi  # a hand-written config: the default
    old_run = BertPretrainConfig().to_dict()
    del old_run["alibi"]
    old_run["backbone"] = {"num_layers": 2, "hidden_dim": 128}  # recorded before ALiBi existed
    assert PretrainConfig.from_dict(old_run).alibi is False
    old_run["backbone"]["alibi"] = True
    assert PretrainConfig.from_dict(old_run).alibi is True
    with pytest.raises(UsageError, match="alibi must be true or false, got 'yes'"):
        PretrainConfig.from_dict({"model": "electra", "alibi": "yes"})
    with pytest.raises(UsageError, match=re.escape("unknown config keys ['alibi']")):
        PretrainConfig.from_dict({"model": "gpt", "alibi": True})
