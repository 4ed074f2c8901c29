"""`pretrain bert --init-from DIR`: a run that continues an earlier run's weights on a new corpus."""

import json
import os

import numpy as np
import pytest

import cli
from pretrain.objectives.pretrained import load_pretrained
from pretrain.runs.continued_pretraining import continued_config
from pretrain.training.pretrain_config import BertPretrainConfig, GptPretrainConfig
from tests.helpers.pretrain_runs import tiny_run_arguments, write_lines_corpus


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, lee_corpus_path):
    folder = tmp_path_factory.mktemp("corpora")
    general = write_lines_corpus(lee_corpus_path, str(folder / "general.txt"), documents=12)
    domain = write_lines_corpus(lee_corpus_path, str(folder / "domain.txt"), documents=20)
    return general, domain


@pytest.fixture(scope="module")
def source_run(tmp_path_factory, corpora):
    """A run with NSP whose weights moved far from their initialisation (learning rate 1e-2)."""
    output = str(tmp_path_factory.mktemp("source") / "run")
    arguments = [*tiny_run_arguments(corpora[0], output), "--learning-rate", "1e-2"]
    assert cli.main(["bert", *arguments]) == 0
    return output


def _run_arguments(corpus, output, *extra):
    return [
        "--corpus", corpus, "--output", output, "--steps", "2", "--batch-size", "4", "--seq-length", "32",
        "--checkpoint-every", "2", "--eval-batches", "1", "--heldout-every", "4", *extra,
    ]


def _continued_arguments(corpus, output, source, *extra):
    return _run_arguments(corpus, output, "--init-from", source, *extra)


def _weights(model):
    return {variable.path: variable.numpy() for variable in model.weights}


def test_continued_run_starts_from_the_source_weights_and_keeps_its_vocabulary(source_run, corpora, tmp_path, capsys):
    output = str(tmp_path / "continued")
    # A learning rate of 1e-12 leaves the starting weights in place to within 1e-6.
    arguments = _continued_arguments(corpora[1], output, source_run, "--learning-rate", "1e-12", "--no-nsp")
    assert cli.main(["bert", *arguments]) == 0

    vocabulary = open(os.path.join(output, "vocab.txt")).read()
    assert vocabulary == open(os.path.join(source_run, "vocab.txt")).read()
    with open(os.path.join(output, "config.json")) as file:
        config = json.load(file)
    with open(os.path.join(source_run, "config.json")) as file:
        source_config = json.load(file)
    assert config["training"]["init_from"] == os.path.abspath(source_run)
    assert config["tokenizer"] == source_config["tokenizer"]
    assert config["backbone"] == source_config["backbone"]
    assert config["data"]["corpus"] == [os.path.abspath(corpora[1])] and config["data"]["nsp"] is False

    source, continued = load_pretrained(source_run), load_pretrained(output)
    source_weights, continued_weights = _weights(source.model), _weights(continued.model)
    assert "nsp_head/dense/kernel" not in continued_weights  # the new run's objective, not the source's
    assert any(path.startswith("mlm_head/") for path in continued_weights)
    for path in continued_weights:
        np.testing.assert_allclose(continued_weights[path], source_weights[path], atol=1e-6, err_msg=path)

    # A rerun resumes from its own checkpoint: the source's config and vocabulary are read, its weights are not.
    hidden = [os.path.join(source_run, name) for name in ("model.keras", "checkpoints")]
    for path in hidden:
        os.rename(path, path + ".hidden")
    try:
        assert cli.main(["bert", *arguments]) == 0
    finally:
        for path in hidden:
            os.rename(path + ".hidden", path)
    assert "Resuming from step 2" in capsys.readouterr().err  # logged


def test_a_run_from_scratch_differs_from_the_source(source_run, corpora, tmp_path):
    """The check above can fail: without --init-from the same settings end far from the source."""
    output = str(tmp_path / "scratch")
    arguments = _run_arguments(
        corpora[1], output, "--vocab", os.path.join(source_run, "vocab.txt"), "--learning-rate", "1e-12", "--no-nsp"
    )
    assert cli.main(["bert", *arguments]) == 0
    scratch = _weights(load_pretrained(output).backbone)
    source = _weights(load_pretrained(source_run).backbone)
    assert max(np.abs(scratch[path] - source[path]).max() for path in scratch) > 1e-3


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--preset", "mini"], "--preset cannot change a model that --init-from"),
        (["--cased"], "--cased cannot change a model that --init-from"),
        (["--no-alibi"], "--no-alibi cannot change a model that --init-from"),
    ],
)
def test_options_that_would_change_the_source_model_are_refused(source_run, corpora, tmp_path, capsys, extra, message):
    arguments = _continued_arguments(corpora[1], str(tmp_path / "out"), source_run, *extra)
    assert cli.main(["bert", *arguments]) == 2
    assert message in capsys.readouterr().err


def test_a_vocabulary_option_with_init_from_is_refused(source_run, corpora, tmp_path, capsys):
    arguments = _continued_arguments(corpora[1], str(tmp_path / "out"), source_run, "--vocab-size", "500")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bert", *arguments])
    assert exit_info.value.code == 2
    assert "not allowed with argument --init-from" in capsys.readouterr().err


def test_init_from_a_run_of_another_model_or_no_run_names_the_problem(source_run, corpora, tmp_path, capsys):
    arguments = _continued_arguments(corpora[1], str(tmp_path / "gpt"), source_run)
    assert cli.main(["gpt", *arguments]) == 2
    assert f"--init-from {os.path.abspath(source_run)} is a bert run" in capsys.readouterr().err
    arguments = _continued_arguments(corpora[1], str(tmp_path / "none"), str(tmp_path))
    assert cli.main(["bert", *arguments]) == 2
    assert "is not a pretraining output directory" in capsys.readouterr().err


def test_a_config_file_with_init_from_refuses_another_vocabulary_or_preset(source_run, tmp_path, capsys):
    with open(os.path.join(source_run, "config.json")) as file:
        config = json.load(file)
    config["training"]["init_from"] = source_run
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    tokens = open(os.path.join(source_run, "vocab.txt")).read().split("\n")
    tokens[-2], tokens[-3] = tokens[-3], tokens[-2]  # same size, different ids
    other_vocab = tmp_path / "vocab.txt"
    other_vocab.write_text("\n".join(tokens))
    common = ["bert", "--config", str(config_path), "--output", str(tmp_path / "out")]
    assert cli.main([*common, "--vocab", str(other_vocab)]) == 2
    assert "differs from the vocabulary of --init-from" in capsys.readouterr().err
    assert cli.main([*common, "--preset", "mini"]) == 2
    assert "--preset cannot change a model that --init-from" in capsys.readouterr().err


def test_a_gpt_run_continues_from_a_gpt_run(corpora, tmp_path):
    source = str(tmp_path / "gpt_source")
    assert cli.main(["gpt", *tiny_run_arguments(corpora[0], source), "--learning-rate", "1e-2"]) == 0
    output = str(tmp_path / "gpt_continued")
    assert cli.main(["gpt", *_continued_arguments(corpora[1], output, source, "--learning-rate", "1e-12")]) == 0
    source_weights, continued_weights = _weights(load_pretrained(source).model), _weights(load_pretrained(output).model)
    assert continued_weights.keys() == source_weights.keys()
    for path in continued_weights:
        np.testing.assert_allclose(continued_weights[path], source_weights[path], atol=1e-6, err_msg=path)


def test_a_continued_run_keeps_the_source_runs_alibi_choice():
    source = BertPretrainConfig(alibi=False, backbone={"num_layers": 2})
    assert continued_config(BertPretrainConfig(), source).alibi is False
    assert continued_config(BertPretrainConfig(alibi=False), BertPretrainConfig()).alibi is True
    assert continued_config(GptPretrainConfig(), GptPretrainConfig()) == GptPretrainConfig()
