import dataclasses

import pytest
import tensorflow as tf

from tasks.demo_finetune import DEMO_CONFIG, run_demo_finetune
from tasks.rotten_tomatoes import load_rotten_tomatoes


def test_rotten_tomatoes_split_is_fixed_and_stratified():
    train_texts, train_labels, test_texts, test_labels = load_rotten_tomatoes(seed=0)
    assert (len(train_texts), len(test_texts)) == (10201, 2551)
    assert abs(sum(train_labels) / len(train_labels) - sum(test_labels) / len(test_labels)) < 0.002
    assert not set(train_texts) & set(test_texts)
    assert load_rotten_tomatoes(seed=0, max_test=3)[2] == test_texts[:3]


@pytest.mark.slow
def test_demo_fine_tunes_exports_and_answers(bert_pretrained, tmp_path):
    config = dataclasses.replace(DEMO_CONFIG, epochs=1, seq_length=32)
    result = run_demo_finetune(bert_pretrained[0], str(tmp_path), train_size=64, test_size=32, config=config)
    assert 0.0 <= result["test_accuracy"] <= 1.0 and result["test_examples"] == 32
    assert set(result["response"]["labels"]) <= {"rotten", "fresh"}
    assert "serve_ids" in tf.saved_model.load(result["serving_dir"]).signatures
