"""The demo's fine-tune -> export -> serve step (the served answers are the model's)."""

import json

import pytest

from pretrain.runs.demo_finetune import REQUEST, run_demo_finetune
from tasks.finetune_defaults import learning_rate_for
from tasks.finetuning import FinetuneConfig

POSITIVE = ["a wonderful, moving film", "great acting and a great story", "i loved it, brilliant",
            "beautiful and funny, highly recommended"]
NEGATIVE = ["a dull, boring mess", "awful acting and a stupid plot", "i hated it, terrible",
            "the worst film, a waste of time"]


def test_demo_finetune_serves_exactly_what_the_model_predicts_and_compares_with_scratch(bert_pretrained, tmp_path):
    texts = POSITIVE + NEGATIVE
    train = (texts * 4, ([1] * 4 + [0] * 4) * 4)
    test = (texts, [1] * 4 + [0] * 4)
    config = FinetuneConfig(epochs=2, seq_length=32)
    result = run_demo_finetune(bert_pretrained[0], str(tmp_path), ["neg", "pos"], train, test, config=config)
    assert result["served_test_accuracy"] == pytest.approx(result["in_process_test_accuracy"], abs=1e-6)
    assert result["config"]["learning_rate"] == pytest.approx(learning_rate_for(bert_pretrained[1].hidden_dim))
    assert len(result["response"]["labels"]) == len(REQUEST)
    assert set(result["response"]["labels"]) <= {"neg", "pos"}
    assert 0.0 <= result["random_init_test_accuracy"] <= 1.0
    with open(tmp_path / "finetune.json", encoding="utf-8") as file:
        assert json.load(file)["epochs"] == 2
