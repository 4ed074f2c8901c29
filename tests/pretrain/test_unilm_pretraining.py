"""UniLM objective mixing in BERT pretraining: masks per example, NSP on bidirectional examples only."""

import os

import keras
import numpy as np
import tensorflow as tf

import cli
from layers import BACKBONE_SIZES, BertEncoder
from pretrain.objectives.bert_pretrainer import BertPretrainer, with_attention_modes
from pretrain.objectives.pretrained import load_pretrained
from tests.helpers.pretrain_runs import tiny_run_arguments, write_lines_corpus


def tiny_backbone():
    return BertEncoder(vocabulary_size=50, dropout=0.0, max_sequence_length=16, name="backbone",
                       **BACKBONE_SIZES["tiny"])


def batch(modes):
    rng = np.random.default_rng(0)
    size = len(modes)
    x = {
        "token_ids": rng.integers(5, 50, (size, 8)).astype("int32"),
        "segment_ids": np.array([[0] * 4 + [1] * 4] * size, "int32"),
        "padding_mask": np.ones((size, 8), "int32"),
        "mask_positions": np.array([[5, 6]] * size, "int32"),
        "attention_mode": np.array(modes, "int32"),
    }
    y = {
        "mlm_ids": rng.integers(5, 50, (size, 2)).astype("int32"),
        "mlm_weights": np.ones((size, 2), "float32"),
        "nsp_labels": np.array([0, 1, 1, 0][:size], "int32"),
    }
    return x, y


def test_bidirectional_mode_equals_plain_bert():
    backbone = tiny_backbone()
    unilm, plain = BertPretrainer(backbone, unilm=True), BertPretrainer(backbone)
    for head in ("mlm_head", "nsp_head"):  # the backbone is shared; make the heads equal too
        getattr(plain, head).set_weights(getattr(unilm, head).get_weights())
    x, _ = batch([0, 0, 0])
    plain_inputs = {name: value for name, value in x.items() if name != "attention_mode"}
    for name in ("mlm_features", "nsp_logits"):
        np.testing.assert_allclose(unilm(x)[name], plain(plain_inputs)[name], atol=1e-5)


def test_masks_change_predictions_and_nsp_learns_only_from_bidirectional_examples():
    model = BertPretrainer(tiny_backbone(), unilm=True)
    x, y = batch([0, 1, 2, 0])
    outputs = model(x)
    x_bidirectional = dict(x, attention_mode=np.zeros(4, "int32"))
    changed = np.abs(np.asarray(model(x_bidirectional)["mlm_features"]) - np.asarray(outputs["mlm_features"]))
    assert changed[[1, 2]].max() > 1e-4  # left-to-right and seq2seq rows see less context
    np.testing.assert_allclose(changed[[0, 3]], 0, atol=1e-5)

    model.compute_loss(x, y, outputs)
    per_example = keras.losses.sparse_categorical_crossentropy(
        y["nsp_labels"], outputs["nsp_logits"], from_logits=True
    ).numpy()
    expected = (per_example[0] + per_example[3]) / (2 + 1e-5)
    np.testing.assert_allclose(model.nsp_loss.result(), expected, rtol=1e-5)


def test_attention_modes_are_uniform_and_reproducible():
    x, y = batch([0, 0, 0, 0])
    x.pop("attention_mode")
    batches = tf.data.Dataset.from_tensors((x, y)).repeat(600)
    modes = np.concatenate([b[0]["attention_mode"].numpy() for b in with_attention_modes(batches, 7)])
    again = np.concatenate([b[0]["attention_mode"].numpy() for b in with_attention_modes(batches, 7)])
    np.testing.assert_array_equal(modes, again)
    assert np.abs(np.bincount(modes, minlength=3) / len(modes) - 1 / 3).max() < 0.03


def test_keras_file_round_trip_keeps_the_mix_and_the_weights(tmp_path):
    model = BertPretrainer(tiny_backbone(), unilm=True)
    x, _ = batch([0, 1, 2])
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.unilm
    np.testing.assert_allclose(reloaded(x)["mlm_features"], model(x)["mlm_features"], atol=1e-5)
    np.testing.assert_allclose(
        reloaded.backbone.token_embedding.embeddings, model.backbone.token_embedding.embeddings
    )


def test_pretrain_bert_unilm_from_the_cli(lee_corpus_path, tmp_path):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path / "corpus.txt"))
    output = str(tmp_path / "run")
    assert cli.main(["bert", *tiny_run_arguments(corpus, output), "--unilm"]) == 0
    pretrained = load_pretrained(output)
    assert pretrained.config.data.unilm
    assert isinstance(pretrained.backbone, BertEncoder)
    assert os.path.isdir(os.path.join(output, "backbone"))
