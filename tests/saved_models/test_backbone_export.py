"""The backbone SavedModel: same outputs as Keras, and fine-tunable with AdamW in
a process that imports only tensorflow, tensorflow_text and keras."""

import json
import os
import textwrap

import numpy as np
import tensorflow as tf

import saved_models.backbone_export as backbone_export
from pretrain.text.tokenizer import WordPieceTokenizer
from tests.helpers.fresh_process import last_json_line, run_outside_checkout

FRESH_PROCESS_SCRIPT = """
import json, sys
import numpy as np
import keras, tensorflow as tf, tensorflow_text  # noqa: F401
assert not any(name in sys.modules for name in ("layers", "pretrain", "tasks", "saved_models"))
path, expected_path = sys.argv[1], sys.argv[2]
{recipe}
saved = tf.saved_model.load(path)
inputs = saved.preprocess(tf.constant(["the history of the city", "a dull film"]))
expected = np.load(expected_path)
np.testing.assert_allclose(saved.encode(inputs)["pooled_output"].numpy(), expected, atol=1e-5)
frozen = keras.layers.TFSMLayer(path, call_endpoint="encode")
np.testing.assert_allclose(frozen(inputs)["pooled_output"].numpy(), expected, atol=1e-5)

backbone = SavedModelBackbone(path)
names = sorted(inputs)
model_inputs = {{name: keras.Input((None,), dtype="int32", name=name) for name in names}}
logits = keras.layers.Dense(2)(backbone(model_inputs)["pooled_output"])
model = keras.Model(model_inputs, logits)
model.compile(keras.optimizers.AdamW(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
before = [w.numpy().copy() for w in backbone.trainable_weights]
history = model.fit({{k: v.numpy() for k, v in inputs.items()}}, np.array([1, 0]), epochs=3, verbose=0)
changed = sum(not np.allclose(b, w.numpy()) for b, w in zip(before, backbone.trainable_weights))
# The restored functions read the same variables the optimizer updated.
moved = not np.allclose(backbone.saved.encode(inputs)["pooled_output"].numpy(), expected)
print(json.dumps({{"losses": history.history["loss"], "changed": changed,
                  "trainable": len(backbone.trainable_weights), "encode_moved": moved}}))
"""


def documented_recipe():
    """The `SavedModelBackbone` code block of backbone_export's docstring."""
    doc = backbone_export.__doc__
    start = doc.index("    import keras")
    end = doc.index("`TFSMLayer(path")
    return textwrap.dedent(doc[start:end])


def test_backbone_savedmodel_matches_keras_and_fine_tunes_elsewhere(bert_pretrained, tmp_path):
    directory, backbone = bert_pretrained
    path = os.path.join(directory, "backbone")
    saved = tf.saved_model.load(path)
    inputs = saved.preprocess(tf.constant(["the history of the city", "a dull film"]))
    assert inputs["token_ids"].shape == (2, 16)
    expected = backbone(inputs, training=False)["pooled_output"].numpy()
    np.save(tmp_path / "expected.npy", expected)
    script = FRESH_PROCESS_SCRIPT.format(recipe=documented_recipe())
    report = last_json_line(run_outside_checkout(script, path, tmp_path / "expected.npy", cwd=tmp_path))
    assert report["trainable"] == len(backbone.trainable_weights)
    assert report["changed"] >= 0.9 * report["trainable"]  # a few get no gradient from [CLS]
    assert report["encode_moved"]
    assert report["losses"][-1] < report["losses"][0]


def test_backbone_export_writes_config_vocabulary_and_pair_packing(bert_pretrained):
    directory, backbone = bert_pretrained
    path = os.path.join(directory, "backbone")
    with open(os.path.join(path, "assets.extra", "config.json"), encoding="utf-8") as file:
        config = json.load(file)
    assert config["backbone"]["hidden_dim"] == backbone.hidden_dim
    assert config["input_names"] == ["padding_mask", "segment_ids", "token_ids"]
    with open(os.path.join(path, "assets", "vocab.txt"), encoding="utf-8") as file:
        assert file.read().splitlines()[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    saved = tf.saved_model.load(path)
    packed = saved.preprocess_pair(tf.constant(["the city"]), tf.constant(["a film"]))
    segment_ids = packed["segment_ids"].numpy()[0]
    mask = packed["padding_mask"].numpy()[0]
    tokenizer = WordPieceTokenizer(os.path.join(path, "assets", "vocab.txt"))
    pieces_a, pieces_b = (len(tokenizer.tokenize_flat([text])[0]) for text in ("the city", "a film"))
    # [CLS] the city [SEP] | a film [SEP] | padding
    assert segment_ids.tolist() == [0] * (pieces_a + 2) + [1] * (pieces_b + 1) + [0] * (16 - pieces_a - pieces_b - 3)
    assert mask.sum() == pieces_a + pieces_b + 3
    assert packed["token_ids"].numpy()[0][0] == tokenizer.token_to_id("[CLS]")


def test_gpt_backbone_export_has_no_segments(gpt_pretrained):
    directory, backbone = gpt_pretrained
    saved = tf.saved_model.load(os.path.join(directory, "backbone"))
    inputs = saved.preprocess(tf.constant(["the history of the city"]))
    assert sorted(inputs) == ["padding_mask", "token_ids"]
    expected = backbone(inputs, training=False)
    np.testing.assert_allclose(saved.encode(inputs)["sequence_output"].numpy(), expected.numpy(), atol=1e-5)
