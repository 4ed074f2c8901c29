"""Proof of serving: each SavedModel answers TF Serving-style requests in a fresh
process that imports only tensorflow and tensorflow_text, with the same answers
as the in-process Keras model, using only ops TF Serving ships."""

import base64
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from saved_models.gpt_export import export_gpt_serving
from saved_models.serving_export import export_classifier_serving
from tasks.backbone_loading import load_backbone
from tasks.generation import GenerationConfig
from tasks.gpt_generator import GptGenerator
from tasks.text_classifier import TextClassifier
from tasks.text_preprocessor import TextPreprocessor
from tests.helpers.fresh_process import serve_in_fresh_process


def serialized_example(features):
    feature = {name: tf.train.Feature(int64_list=tf.train.Int64List(value=values)) for name, values in features.items()}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


TEXTS = ["a wonderful film with a great cast", "a dull and boring mess", "the history of the city"]
PAIRS = ["great", "boring", "old"]


@pytest.fixture(scope="module", params=["cls", "mean"])
def trained_pair_classifier(bert_pretrained, request):
    keras.utils.set_random_seed(0)
    loaded = load_backbone(bert_pretrained[0])
    classifier = TextClassifier(
        loaded.backbone, 3, preprocessor=TextPreprocessor(loaded.tokenizer, 16), label_names=["neg", "pos", "other"],
        pooling=request.param,
    )
    classifier.compile_for_task(learning_rate=2e-2)
    classifier.fit((TEXTS, PAIRS), [1, 0, 2], epochs=3, batch_size=3, verbose=0)
    return classifier


def test_classifier_serving_answers_raw_text_ids_and_examples_like_keras(trained_pair_classifier, tmp_path):
    classifier = trained_pair_classifier
    path = export_classifier_serving(classifier, str(tmp_path / "serving"), text_pairs=True)
    expected = classifier.probabilities(classifier.predict((TEXTS, PAIRS), verbose=0)).numpy()
    inputs = {name: value.numpy().tolist() for name, value in classifier.preprocessor(TEXTS, PAIRS).items()}
    rows = range(len(TEXTS))
    requests = {
        "serving_default": {"instances": [{"text": t, "text_pair": p} for t, p in zip(TEXTS, PAIRS)]},
        "serve_ids": {"instances": [{
            "input_word_ids": inputs["token_ids"][i],
            "input_mask": inputs["padding_mask"][i],
            "input_type_ids": inputs["segment_ids"][i],
        } for i in rows]},
        "serve_examples": {"instances": [{"examples": {"b64": base64.b64encode(serialized_example({
            "input_ids": inputs["token_ids"][i],
            "input_mask": inputs["padding_mask"][i],
            "segment_ids": inputs["segment_ids"][i],
        })).decode("ascii")}} for i in rows]},
    }
    report = serve_in_fresh_process(path, requests, tmp_path)
    expected_labels = [classifier.label_names[i] for i in expected.argmax(-1)]
    for signature in requests:
        answer = report["answers"][signature]
        np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-5, err_msg=signature)
        assert answer["label"] == expected_labels, signature
    # Type ids matter: swapping in the word ids (Model Garden's bug) changes the answer.
    swapped = classifier({**{k: tf.constant(v) for k, v in inputs.items()}, "segment_ids": tf.constant(inputs["token_ids"]) % 2})
    assert not np.allclose(classifier.probabilities(swapped).numpy(), expected, atol=1e-4)
    assert report["unknown_ops"] == []
    assert "WordpieceTokenizeWithOffsets" in report["text_ops"]


def test_saved_model_cli_lists_the_signatures(trained_pair_classifier, tmp_path):
    path = export_classifier_serving(trained_pair_classifier, str(tmp_path / "serving"), text_pairs=True)
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", path, "--all"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    for expected in ("signature_def['serving_default']", "signature_def['serve_ids']", "signature_def['serve_examples']",
                     "inputs['text_pair']", "inputs['input_type_ids']", "outputs['label']"):
        assert expected in shown.stdout
    with open(os.path.join(path, "assets.extra", "task.json"), encoding="utf-8") as file:
        assert json.load(file)["label_names"] == ["neg", "pos", "other"]


def test_gpt_serving_generates_the_same_text_as_keras(gpt_pretrained, tmp_path):
    loaded = load_backbone(gpt_pretrained[0])
    config = GenerationConfig(max_length=12, strategy="beam", num_beams=2)
    prompts = ["the history of the city", "a film"]
    expected = [text.decode("utf-8") for text in GptGenerator(loaded.backbone, loaded.tokenizer, config)(prompts).numpy()]
    path = export_gpt_serving(loaded.backbone, loaded.tokenizer, str(tmp_path / "gpt_serving"), config)
    report = serve_in_fresh_process(path, {"serving_default": {"instances": [{"prompts": p} for p in prompts]}}, tmp_path)
    assert report["answers"]["serving_default"]["generated_text"] == expected
    assert any(text for text in expected)
    assert report["unknown_ops"] == []
