"""The fine-tuning defaults: the rule's values, the fields a user sets are kept, and the CLI uses the rule."""

import json

import pytest

import cli
from tasks.finetune_defaults import BackboneFacts, epochs_for, learning_rate_for, recommended_settings, seq_length_for
from tasks.finetuning import FinetuneConfig, build_classifier, finetune_setup

TEXTS = ["a fine film", "a dull film", "fine acting", "dull plot", "fine", "dull"]


@pytest.mark.parametrize("hidden_dim, rate", [(768, 5e-5), (512, 7.5e-5), (256, 1.5e-4), (128, 3e-4)])
def test_learning_rate_scales_with_the_inverse_width_and_bert_base_keeps_berts(hidden_dim, rate):
    assert learning_rate_for(hidden_dim) == pytest.approx(rate)


@pytest.mark.parametrize("hidden_dim, examples, epochs", [
    (768, 1000, 3), (768, 100_000, 3),  # BERT's recipe
    (128, 1000, 10), (128, 2000, 5), (128, 4000, 3), (128, 25_000, 3), (256, 100, 10),
])
def test_small_backbones_get_enough_updates_within_three_to_ten_epochs(hidden_dim, examples, epochs):
    assert epochs_for(hidden_dim, examples, batch_size=32) == epochs


def test_sequence_length_covers_most_texts_in_multiples_of_32_within_the_caps():
    assert seq_length_for([10] * 100, 512) == 32
    assert seq_length_for(list(range(1, 101)), 512) == 96  # 90% quantile 90.1 + 2 -> 96
    assert seq_length_for([1000] * 10, 512) == 256  # the CPU cap
    assert seq_length_for([1000] * 10, 128) == 128  # the backbone's positions
    assert seq_length_for([], 512) == 256


def test_pooling_is_cls_only_when_next_sentence_prediction_trained_the_pooler():
    assert recommended_settings(BackboneFacts(128, 512, True), 100, 32)["pooling"] == "cls"
    assert recommended_settings(BackboneFacts(128, 512, False), 100, 32)["pooling"] == "mean"


def test_setup_fills_only_what_is_unset_from_the_backbone_and_the_texts(bert_pretrained):
    loaded, config = finetune_setup(bert_pretrained[0], FinetuneConfig(epochs=1), TEXTS)
    assert config.epochs == 1  # given, kept
    assert config.learning_rate == pytest.approx(learning_rate_for(loaded.hidden_dim))
    assert config.seq_length == 32 and config.warmup_fraction == 0.1
    assert config.pooling == ("cls" if loaded.pooler_trained else "mean")
    assert not config.unset()
    classifier = build_classifier(loaded, ["0", "1"], config, train_examples=len(TEXTS))
    assert classifier.pooling == config.pooling


def test_build_classifier_refuses_a_config_with_unset_fields(bert_pretrained):
    with pytest.raises(ValueError, match="finetune_setup"):
        build_classifier(bert_pretrained[0], ["0", "1"], FinetuneConfig(), train_examples=6)


def test_cli_without_tuning_flags_writes_the_chosen_settings(bert_pretrained, tmp_path, capsys):
    train = tmp_path / "train.csv"
    train.write_text("review,sentiment\n" + "".join(f"{text},{i % 2}\n" for i, text in enumerate(TEXTS)))
    status = cli.main(["finetune", "classify", "--model", bert_pretrained[0], "--train", str(train),
                       "--text-column", "review", "--label-column", "sentiment", "--output", str(tmp_path / "out"),
                       "--epochs", "1", "--batch-size", "4"])
    assert status == 0
    with open(tmp_path / "out" / "finetune.json", encoding="utf-8") as file:
        saved = json.load(file)
    rate = learning_rate_for(bert_pretrained[1].hidden_dim)
    assert (saved["epochs"], saved["learning_rate"], saved["seq_length"]) == (1, pytest.approx(rate), 32)
    assert f"learning rate {rate:g}, 1 epochs" in capsys.readouterr().out
