"""`.keras` round trips of both backbones and a SavedModel export loaded without this project."""

import json

import keras
import numpy as np

from layers import BertEncoder, GptDecoder
from tests.helpers.fresh_process import last_json_line, run_outside_checkout

SIZES = dict(vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16, max_sequence_length=12)
BERT_INPUTS = {
    "token_ids": np.array([[2, 7, 9, 3, 0], [2, 5, 3, 0, 0]], "int32"),
    "segment_ids": np.zeros((2, 5), "int32"),
    "padding_mask": np.array([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]], "int32"),
}
GPT_INPUTS = {"token_ids": BERT_INPUTS["token_ids"], "padding_mask": BERT_INPUTS["padding_mask"]}


def test_bert_encoder_keras_file_round_trip(tmp_path):
    encoder = BertEncoder(**SIZES)
    expected = encoder.predict(BERT_INPUTS, verbose=0)
    encoder.save(tmp_path / "bert.keras")
    reloaded = keras.saving.load_model(tmp_path / "bert.keras")
    assert isinstance(reloaded, BertEncoder)
    assert reloaded.get_config() == encoder.get_config()
    actual = reloaded.predict(BERT_INPUTS, verbose=0)
    for name in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(actual[name], expected[name], atol=1e-6)
    assert reloaded.token_embedding is reloaded.embeddings_layer.token_embedding


def test_gpt_decoder_keras_file_round_trip(tmp_path):
    decoder = GptDecoder(**SIZES)
    expected = decoder.predict(GPT_INPUTS, verbose=0)
    decoder.save(tmp_path / "gpt.keras")
    reloaded = keras.saving.load_model(tmp_path / "gpt.keras")
    assert isinstance(reloaded, GptDecoder)
    np.testing.assert_allclose(reloaded.predict(GPT_INPUTS, verbose=0), expected, atol=1e-6)
    np.testing.assert_allclose(reloaded.logits(expected), decoder.logits(expected), atol=1e-6)


LOAD_AND_RUN = """
import json, sys
import numpy as np
import tensorflow as tf
results = {}
for name, (path, inputs) in json.loads(sys.argv[1]).items():
    model = tf.saved_model.load(path)
    outputs = model.serve({key: tf.constant(value, tf.int32) for key, value in inputs.items()})
    outputs = outputs if isinstance(outputs, dict) else {"output": outputs}
    results[name] = {key: np.asarray(value).tolist() for key, value in outputs.items()}
results["project_imported"] = any(m == "layers" or m.startswith("layers.") for m in sys.modules)
print(json.dumps(results))
"""


def run_without_project(requests, working_dir):
    """Load and call SavedModels in one fresh Python, started outside the repository."""
    serialized = json.dumps(
        {
            name: (str(path), {key: value.tolist() for key, value in inputs.items()})
            for name, (path, inputs) in requests.items()
        }
    )
    return last_json_line(run_outside_checkout(LOAD_AND_RUN, serialized, cwd=working_dir))


def test_exported_saved_models_load_without_this_project(tmp_path):
    encoder = BertEncoder(**SIZES)
    decoder = GptDecoder(**SIZES)
    encoder.export(str(tmp_path / "bert"), verbose=False)
    decoder.export(str(tmp_path / "gpt"), verbose=False)

    results = run_without_project(
        {"bert": (tmp_path / "bert", BERT_INPUTS), "gpt": (tmp_path / "gpt", GPT_INPUTS)}, tmp_path
    )
    assert results["project_imported"] is False
    expected = encoder.predict(BERT_INPUTS, verbose=0)
    for name in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(np.array(results["bert"][name]), expected[name], atol=1e-5)
    np.testing.assert_allclose(
        np.array(results["gpt"]["output"]), decoder.predict(GPT_INPUTS, verbose=0), atol=1e-5
    )
