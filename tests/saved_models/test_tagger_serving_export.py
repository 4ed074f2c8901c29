"""Proof of serving for the tagger: the SavedModel answers TF Serving-style
requests in a fresh process that imports only tensorflow and tensorflow_text,
with the tags `TokenClassifier.predict_tags` gives in process."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from saved_models.tagger_serving_export import export_tagger_serving, split_words
from tasks.backbone_loading import load_backbone
from tasks.tagging_preprocessor import TaggingPreprocessor
from tasks.token_classifier import TokenClassifier
from tests.helpers.fresh_process import serve_in_fresh_process

SENTENCES = [["john", "lives", "in", "london"], ["mary", "visited", "paris"], ["the", "film", "is", "good"]]
TAGS = [[1, 0, 0, 2], [1, 0, 2], [0, 0, 0, 0]]
TAG_NAMES = ["O", "PER", "LOC"]
SEQ_LENGTH = 10
# Tabs, double and non-breaking spaces split as str.split() does; "" and "  " have no words;
# the long one has more than SEQ_LENGTH - 2 pieces, so its last words are cut.
TEXTS = [
    "john lives in london",
    "mary\tvisited  paris ",
    "",
    "the\u00a0film is good",
    "  ",
    "john and mary visited the old city of london and paris in the spring",
]


@pytest.fixture(scope="module")
def tagger(bert_pretrained):
    keras.utils.set_random_seed(0)
    loaded = load_backbone(bert_pretrained[0])
    tagger = TokenClassifier(loaded.backbone, 3, TaggingPreprocessor(loaded.tokenizer, SEQ_LENGTH), TAG_NAMES, dropout=0.0)
    tagger.compile_for_task(learning_rate=2e-2)
    tagger.fit(SENTENCES, TAGS, epochs=8, batch_size=3, verbose=0)
    return tagger


@pytest.fixture(scope="module")
def exported(tagger, tmp_path_factory):
    return export_tagger_serving(tagger, str(tmp_path_factory.mktemp("tagger") / "serving"))


def padded(rows, width, fill):
    return [row + [fill] * (width - len(row)) for row in rows]


def test_split_words_equals_python_str_split():
    texts = ["a\tb\nc  d\u00a0e\u3000f\u2028g\x1ch", " lead and trail ", "", "\u00a0\u2003", "one"]
    assert split_words(tf.constant(texts)).to_list() == [[w.encode() for w in text.split()] for text in texts]


def words_of(texts):
    return [text.split() for text in texts]


@pytest.fixture(scope="module")
def served(tagger, exported, tmp_path_factory):
    """The fresh process's answers to text, words and ids requests, and the ids sent."""
    words = words_of(TEXTS)
    width = max(len(sentence) for sentence in words)
    inputs, _ = tagger.preprocessor([sentence for sentence in words if sentence])
    inputs = {name: value.numpy().tolist() for name, value in inputs.items()}
    requests = {
        "serving_default": {"instances": [{"text": text} for text in TEXTS]},
        "serve_words": {"instances": [{"words": row} for row in padded(words, width, "")]},
        "serve_ids": {"instances": [{
            "input_word_ids": inputs["token_ids"][i],
            "input_mask": inputs["padding_mask"][i],
            "input_type_ids": inputs["segment_ids"][i],
        } for i in range(len(inputs["token_ids"]))]},
    }
    return serve_in_fresh_process(exported, requests, tmp_path_factory.mktemp("serve")), inputs


def test_serving_answers_raw_text_and_words_like_predict_tags(tagger, served):
    report, _ = served
    words = words_of(TEXTS)
    width = max(len(sentence) for sentence in words)
    # predict_tags of the non-empty sentences, and no tags for the empty ones.
    predicted = iter(tagger.predict_tags([sentence for sentence in words if sentence]))
    expected_tags = [next(predicted) if sentence else [] for sentence in words]
    assert len(expected_tags[-1]) < len(words[-1])  # the long sentence really is cut
    assert len({tag for row in expected_tags for tag in row}) > 1  # not one tag everywhere
    assert report["unknown_ops"] == []
    for signature in ("serving_default", "serve_words"):
        answer = report["answers"][signature]
        assert answer["words"] == padded(words, width, ""), signature
        assert answer["num_words"] == [len(sentence) for sentence in words], signature
        assert answer["tags"] == padded(expected_tags, width, ""), signature
        assert answer["tag_ids"] == padded([[TAG_NAMES.index(t) for t in row] for row in expected_tags], width, -1)
        probabilities = np.array(answer["probabilities"])
        assert probabilities.shape == (len(TEXTS), width, len(TAG_NAMES))
        tagged = np.array(answer["tag_ids"]) >= 0
        np.testing.assert_allclose(probabilities[tagged].sum(-1), 1.0, atol=1e-5)
        assert not probabilities[~tagged].any()  # cut words and padding: all zero


def test_serve_ids_returns_per_piece_probabilities_of_the_keras_model(tagger, served):
    report, inputs = served
    expected = tf.nn.softmax(tagger.predict({k: np.array(v) for k, v in inputs.items()}, verbose=0), axis=-1).numpy()
    answer = report["answers"]["serve_ids"]
    np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-5)
    assert answer["tag_ids"] == expected.argmax(-1).tolist()
    assert answer["tags"] == [[TAG_NAMES[t] for t in row] for row in expected.argmax(-1)]


def test_empty_batch_rows_give_zero_words(exported):
    served = tf.saved_model.load(exported).signatures["serving_default"]
    answer = served(text=tf.constant(["", " \t "]))
    assert answer["num_words"].numpy().tolist() == [0, 0]
    assert answer["tags"].shape == (2, 0) and answer["probabilities"].shape == (2, 0, len(TAG_NAMES))


def test_saved_model_cli_lists_the_signatures_and_task_json_names_the_tags(exported):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", exported, "--all"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    for expected in ("signature_def['serving_default']", "signature_def['serve_words']", "signature_def['serve_ids']",
                     "inputs['text']", "inputs['words']", "inputs['input_word_ids']", "outputs['tags']",
                     "outputs['num_words']", "outputs['probabilities']"):
        assert expected in shown.stdout
    with open(os.path.join(exported, "assets.extra", "task.json"), encoding="utf-8") as file:
        assert json.load(file) == {"task": "token_classification", "tag_names": TAG_NAMES, "seq_length": SEQ_LENGTH}


def test_export_needs_a_preprocessor(tagger, tmp_path):
    bare = TokenClassifier(tagger.backbone, 3, None, TAG_NAMES)
    with pytest.raises(ValueError, match="no preprocessor"):
        export_tagger_serving(bare, str(tmp_path / "serving"))
