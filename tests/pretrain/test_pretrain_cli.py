"""`pretrain bert` / `pretrain gpt` end to end: output directory, config reload, errors."""

import json
import os

import keras
import numpy as np
import pytest

import cli
from pretrain.commands.pretrain_arguments import config_from_args
from pretrain.objectives.pretrained import load_pretrained
from pretrain.training import loop
from pretrain.training.pretrain_config import PretrainConfig
from tests.helpers.pretrain_runs import output_files, tiny_run_arguments, write_lines_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, lee_corpus_path):
    return write_lines_corpus(lee_corpus_path, str(tmp_path_factory.mktemp("corpus") / "news.txt"))


@pytest.fixture(scope="module")
def bert_run(tmp_path_factory, corpus):
    output = str(tmp_path_factory.mktemp("bert") / "run")
    assert cli.main(["bert", *tiny_run_arguments(corpus, output), "--masking", "whole-word"]) == 0
    return output


def _parser(command):
    return cli.build_parser(command)._subparsers._group_actions[0].choices[command]


@pytest.mark.parametrize("command", ["bert", "electra", "gpt"])
def test_help_documents_every_option(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    text = capsys.readouterr().out
    required = ["--corpus", "--output", "--corpus-format", "--preset", "--steps", "--batch-size",
                "--seq-length", "--vocab", "--vocab-size", "--config", "--attention-dropout"]
    if command == "bert":
        required += ["--masking", "--no-nsp", "--no-alibi"]
    if command == "electra":
        required += ["--masking", "--generator-layers", "--discriminator-weight", "--no-alibi"]
    for option in required:
        assert option in text
    undocumented = [a.option_strings for a in _parser(command)._actions if not a.help]
    assert undocumented == []


def test_bert_run_writes_the_documented_output_directory(bert_run):
    assert {"vocab.txt", "config.json", "checkpoints", "logs", "model.keras", "backbone"} <= set(
        output_files(bert_run)
    )
    with open(os.path.join(bert_run, "config.json")) as file:
        config = json.load(file)
    assert config["model"] == "bert" and config["data"]["masking"] == "whole-word"
    assert config["backbone"]["vocabulary_size"] == 300 and config["backbone"]["num_layers"] == 2
    assert config["tokenizer"] == {
        "vocabulary": "vocab.txt", "vocabulary_size": 300, "lowercase": True, "strip_accents": True
    }
    with open(os.path.join(bert_run, "metrics.json")) as file:
        metrics = json.load(file)
    assert metrics["step"] == 4
    for name in ("mlm_accuracy", "nsp_accuracy", "val_mlm_accuracy", "val_nsp_accuracy", "val_mlm_perplexity"):
        assert 0.0 <= metrics[name] <= (1.0 if "accuracy" in name else 1e6)
    assert os.listdir(os.path.join(bert_run, "logs", "train"))
    assert os.listdir(os.path.join(bert_run, "logs", "validation"))


def test_load_pretrained_returns_the_trained_backbone_and_tokenizer(bert_run):
    pretrained = load_pretrained(bert_run)
    assert pretrained.config.model == "bert" and pretrained.backbone.name == "backbone"
    token_ids = pretrained.tokenizer().tokenize_flat(["The prime minister said."]).to_tensor().numpy()
    outputs = pretrained.backbone(
        {"token_ids": token_ids, "segment_ids": np.zeros_like(token_ids),
         "padding_mask": np.ones_like(token_ids)}
    )
    assert outputs["sequence_output"].shape == (1, token_ids.shape[1], 128)
    # The same weights as the last checkpoint, which load_pretrained uses when model.keras is absent.
    os.rename(os.path.join(bert_run, "model.keras"), os.path.join(bert_run, "model.keras.bak"))
    try:
        from_checkpoint = load_pretrained(bert_run).backbone
    finally:
        os.rename(os.path.join(bert_run, "model.keras.bak"), os.path.join(bert_run, "model.keras"))
    for a, b in zip(pretrained.backbone.weights, from_checkpoint.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_new_encoders_have_alibi_unless_no_alibi(bert_run, tmp_path):
    saved = PretrainConfig.load(os.path.join(bert_run, "config.json"))
    assert saved.alibi and saved.backbone["alibi"] is True
    args = cli.build_parser("bert").parse_args(["bert", "--corpus", "x.txt", "--output", str(tmp_path), "--no-alibi"])
    assert config_from_args(args, "bert").alibi is False
    with pytest.raises(SystemExit):
        cli.build_parser("gpt").parse_args(["gpt", "--corpus", "x.txt", "--output", str(tmp_path), "--no-alibi"])


def test_config_reloads_and_flags_override_it(bert_run, tmp_path):
    saved = PretrainConfig.load(os.path.join(bert_run, "config.json"))
    args = cli.build_parser("bert").parse_args(
        ["bert", "--config", os.path.join(bert_run, "config.json"), "--output", str(tmp_path), "--steps", "9"]
    )
    reloaded = config_from_args(args, "bert")
    assert reloaded == saved.replace(training=saved.training.replace(steps=9))


def test_resume_with_a_different_config_or_vocabulary_is_refused(bert_run, corpus, tmp_path, capsys):
    assert cli.main(["bert", *tiny_run_arguments(corpus, bert_run), "--masking", "span"]) == 2
    assert "data.masking: 'whole-word' in the checkpoint, 'span' now" in capsys.readouterr().err  # --steps may change
    other_vocab = tmp_path / "vocab.txt"
    tokens = open(os.path.join(bert_run, "vocab.txt")).read().split("\n")
    tokens[-2], tokens[-3] = tokens[-3], tokens[-2]  # same size, different ids
    other_vocab.write_text("\n".join(tokens))
    arguments = tiny_run_arguments(corpus, bert_run)
    arguments[arguments.index("--vocab-size"): arguments.index("--vocab-size") + 2] = ["--vocab", str(other_vocab)]
    assert cli.main(["bert", *arguments, "--masking", "whole-word"]) == 2
    assert f"--vocab {other_vocab} differs" in capsys.readouterr().err


def test_bad_input_gets_a_clear_error(corpus, tmp_path, capsys):
    def error(*arguments):
        assert cli.main(["bert", *arguments]) == 2
        message = capsys.readouterr().err
        assert "Traceback" not in message
        return message

    output = str(tmp_path / "out")
    assert "matches no file" in error(*tiny_run_arguments(str(tmp_path / "missing.txt"), output))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert "no text found" in error(*tiny_run_arguments(str(empty), output))
    single = tmp_path / "single.txt"
    single.write_text("One document.\nWith two sentences.\n")
    assert "--no-nsp" in error(*tiny_run_arguments(str(single), output))
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert "cannot create output directory" in error(*tiny_run_arguments(corpus, str(blocker / "out")))
    assert "no corpus given" in error("--output", output)
    assert "accumulation_steps > 1 works only" in error(
        *tiny_run_arguments(corpus, output), "--accumulation-steps", "2", "--strategy", "mirrored"
    )
    bad_config = tmp_path / "bad.json"
    bad_config.write_text('{"training": {"stepz": 3}}')
    assert "stepz" in error("--config", str(bad_config), "--output", output)


def test_gpt_run_reports_heldout_perplexity_and_exports_the_decoder(corpus, tmp_path):
    output = str(tmp_path / "gpt")
    assert cli.main(["gpt", *tiny_run_arguments(corpus, output), "--attention-dropout", "0"]) == 0
    assert {"vocab.txt", "config.json", "checkpoints", "logs", "model.keras", "backbone"} <= set(
        output_files(output)
    )
    with open(os.path.join(output, "metrics.json")) as file:
        metrics = json.load(file)
    assert metrics["step"] == 4
    # Barely trained: close to the uniform guess over the 300 tokens, and well defined.
    assert 30 < metrics["val_perplexity"] < 3000
    np.testing.assert_allclose(metrics["val_perplexity"], np.exp(metrics["val_lm_loss"]), rtol=1e-3)
    pretrained = load_pretrained(output)
    assert pretrained.config.model == "gpt" and type(pretrained.backbone).__name__ == "GptDecoder"
    # --attention-dropout 0: no dropout on the attention probabilities (fused kernels may run), 0.1 elsewhere.
    assert pretrained.config.attention_dropout == 0.0
    assert (pretrained.backbone.attention_dropout, pretrained.backbone.dropout) == (0.0, 0.1)


@pytest.fixture
def trained_models(monkeypatch):
    """The models `pretrain` runs hand to the training loop, in order."""
    models = []
    fit = loop.fit

    def recording_fit(model, *arguments, **keywords):
        models.append(model)
        return fit(model, *arguments, **keywords)

    monkeypatch.setattr(loop, "fit", recording_fit)
    return models


def assert_computes_in(model, compute_dtype):
    """`model` computes in `compute_dtype` (its backbone's outputs too) and keeps float32 variables."""
    assert model.compute_dtype == model.backbone.compute_dtype == compute_dtype
    token_ids = np.array([[2, 7, 8, 3]], "int32")
    outputs = model.backbone(
        {"token_ids": token_ids, "segment_ids": np.zeros_like(token_ids), "padding_mask": np.ones_like(token_ids)}
    )
    assert {keras.backend.standardize_dtype(output.dtype) for output in outputs.values()} == {compute_dtype}
    assert {variable.dtype for variable in model.weights} == {"float32"}


def test_training_options_run_together(corpus, tmp_path, trained_models):
    output = str(tmp_path / "options")
    arguments = [*tiny_run_arguments(corpus, output), "--no-nsp", "--masking", "span", "--optimizer", "lamb",
                 "--accumulation-steps", "2", "--precision", "mixed_bfloat16", "--xla"]
    assert cli.main(["bert", *arguments]) == 0
    with open(os.path.join(output, "metrics.json")) as file:
        metrics = json.load(file)
    assert metrics["step"] == 4 and np.isfinite(metrics["val_mlm_loss"]) and "nsp_accuracy" not in metrics
    config = PretrainConfig.load(os.path.join(output, "config.json"))
    assert (config.training.optimizer, config.training.precision, config.training.jit_compile) == (
        "lamb", "mixed_bfloat16", True
    )
    # The model that trained computed in bfloat16; the run restored the global policy.
    [model] = trained_models
    assert_computes_in(model, "bfloat16")
    assert keras.config.dtype_policy().name == "float32"
    # The saved pretrainer has no NSP head and keeps float32 weights.
    assert load_pretrained(output).backbone.token_embedding.embeddings.dtype == "float32"


def test_mixed_float16_trains_in_float16_with_loss_scaling(corpus, tmp_path, trained_models):
    # Keras runs float16 on the CPU too: four real updates, not only a configuration check.
    output = str(tmp_path / "float16")
    assert cli.main(["bert", *tiny_run_arguments(corpus, output), "--precision", "mixed_float16"]) == 0
    with open(os.path.join(output, "metrics.json")) as file:
        metrics = json.load(file)
    assert metrics["step"] == 4 and np.isfinite(metrics["loss"]) and np.isfinite(metrics["val_mlm_loss"])
    [model] = trained_models
    assert_computes_in(model, "float16")
    # float16 gradients underflow without loss scaling; Keras adds it for this policy.
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
