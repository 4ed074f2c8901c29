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
        assert sorted(answer) == ["label", "label_id", "probabilities"], signature  # single-label: as before
        np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-5, err_msg=signature)
        assert answer["label"] == expected_labels, signature
        assert answer["label_id"] == expected.argmax(-1).tolist(), signature
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


@pytest.mark.parametrize("problem_type, targets, threshold", [
    ("multi_label", [[1, 0, 1], [0, 1, 0], [0, 0, 1]], 0.4),
    ("regression", [[4.5, 0.0], [1.0, 2.0], [3.0, -1.0]], None),  # two targets: `value` is [B, 2]
])
def test_multi_label_and_regression_serving_outputs(bert_pretrained, tmp_path, problem_type, targets, threshold):
    keras.utils.set_random_seed(0)
    loaded = load_backbone(bert_pretrained[0])
    names = ["funny", "sad", "long"][:len(targets[0])]
    classifier = TextClassifier(loaded.backbone, len(names), preprocessor=TextPreprocessor(loaded.tokenizer, 16),
                                problem_type=problem_type, label_names=names)
    classifier.compile_for_task(learning_rate=2e-2, run_eagerly=True)
    classifier.fit(TEXTS, targets, epochs=3, batch_size=3, verbose=0)
    path = export_classifier_serving(classifier, str(tmp_path / "serving"), threshold=threshold)
    logits = classifier.predict(TEXTS, verbose=0)
    inputs = {name: value.numpy().tolist() for name, value in classifier.preprocessor(TEXTS).items()}
    rows = range(len(TEXTS))
    requests = {
        "serving_default": {"instances": [{"text": text} for text in TEXTS]},
        "serve_ids": {"instances": [{
            "input_word_ids": inputs["token_ids"][i], "input_mask": inputs["padding_mask"][i],
            "input_type_ids": inputs["segment_ids"][i],
        } for i in rows]},
        "serve_examples": {"instances": [{"examples": {"b64": base64.b64encode(serialized_example({
            "input_ids": inputs["token_ids"][i], "input_mask": inputs["padding_mask"][i],
            "segment_ids": inputs["segment_ids"][i],
        })).decode("ascii")}} for i in rows]},
    }
    report = serve_in_fresh_process(path, requests, tmp_path)
    with open(os.path.join(path, "assets.extra", "task.json"), encoding="utf-8") as file:
        task = json.load(file)
    if problem_type == "multi_label":
        probabilities = 1 / (1 + np.exp(-logits))
        mask = probabilities > threshold
        assert mask.any() and not mask.all()
        expected = {"probabilities": probabilities, "label_mask": mask.astype(int).tolist(),
                    "labels": [",".join(n for n, on in zip(names, row) if on) for row in mask]}
        assert task["threshold"] == threshold and task["label_separator"] == ","
    else:
        expected = {"value": logits}
        assert "threshold" not in task
    assert task["problem_type"] == problem_type and task["outputs"] == list(expected)
    for signature in requests:
        answer = report["answers"][signature]
        assert sorted(answer) == sorted(expected), signature
        for name, value in expected.items():
            if name in ("probabilities", "value"):
                np.testing.assert_allclose(answer[name], value, atol=1e-5, err_msg=f"{signature} {name}")
            else:
                assert answer[name] == value, (signature, name)
    assert report["unknown_ops"] == []


def test_threshold_belongs_to_multi_label_exports_only(bert_pretrained, tmp_path):
    loaded = load_backbone(bert_pretrained[0])
    preprocessor = TextPreprocessor(loaded.tokenizer, 16)
    single = TextClassifier(loaded.backbone, 2, preprocessor=preprocessor)
    with pytest.raises(ValueError, match="only a multi_label classifier"):
        export_classifier_serving(single, str(tmp_path / "a"), threshold=0.5)
    multi = TextClassifier(loaded.backbone, 2, preprocessor=preprocessor, problem_type="multi_label")
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        export_classifier_serving(multi, str(tmp_path / "b"), threshold=1.5)
    assert not os.path.exists(tmp_path / "a") and not os.path.exists(tmp_path / "b")


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
