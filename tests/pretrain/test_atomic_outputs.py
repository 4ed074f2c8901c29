"""Exports a kill cannot leave half written: the previous export stays whole and loadable until the new one is
complete, a kill between the two renames is recovered, and a directory that is not an export is never replaced."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from layers import BertEncoder
from pretrain import atomic_files
from pretrain.atomic_files import atomic_directory, atomic_file, recover
from pretrain.errors import UsageError
from pretrain.text.tokenizer import SPECIAL_TOKENS, save_vocabulary
from saved_models import backbone_export
from saved_models.backbone_export import export_backbone


def _backbone(seed):
    keras.utils.set_random_seed(seed)
    return BertEncoder(vocabulary_size=12, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16,
                       max_sequence_length=16)


def _encode(path):
    ids = tf.constant([[2, 5, 6, 3]], tf.int32)
    inputs = {"token_ids": ids, "segment_ids": tf.zeros_like(ids), "padding_mask": tf.ones_like(ids)}
    return tf.saved_model.load(path).signatures["serving_default"](**inputs)["sequence_output"].numpy()


@pytest.fixture
def vocabulary(tmp_path):
    path = str(tmp_path / "vocab.txt")
    save_vocabulary(list(SPECIAL_TOKENS) + [f"w{i}" for i in range(7)], path)
    return path


def test_an_export_killed_halfway_leaves_the_previous_one_whole_and_loadable(tmp_path, vocabulary, monkeypatch):
    output = str(tmp_path / "backbone")
    export_backbone(_backbone(0), output, vocabulary, {"lowercase": True}, seq_length=16)
    before = _encode(output)

    def killed(*args, **kwargs):  # the SavedModel is written, its config is not
        raise KeyboardInterrupt("killed while writing assets.extra/config.json")

    monkeypatch.setattr(backbone_export.json, "dump", killed)
    with pytest.raises(KeyboardInterrupt):
        export_backbone(_backbone(1), output, vocabulary, {"lowercase": True}, seq_length=16)
    np.testing.assert_array_equal(_encode(output), before)
    assert sorted(os.listdir(tmp_path)) == ["backbone", "vocab.txt"]  # no staging directory left behind
    monkeypatch.undo()
    export_backbone(_backbone(1), output, vocabulary, {"lowercase": True}, seq_length=16)
    assert not np.allclose(_encode(output), before)  # a complete export replaces it
    with open(os.path.join(output, "assets.extra", "config.json"), encoding="utf-8") as file:
        assert json.load(file)["seq_length"] == 16


def test_a_kill_between_the_two_renames_is_recovered_by_the_next_writer(tmp_path):
    path = str(tmp_path / "serving")
    with atomic_directory(path) as staging:
        open(os.path.join(staging, "saved_model.pb"), "w").write("first")
    os.rename(path, path + atomic_files.PREVIOUS)  # the instant after the first rename
    recover(path)
    assert open(os.path.join(path, "saved_model.pb")).read() == "first"
    with atomic_directory(path) as staging:
        open(os.path.join(staging, "saved_model.pb"), "w").write("second")
    assert sorted(os.listdir(tmp_path)) == ["serving"]


def test_a_directory_that_is_not_an_export_is_never_replaced(tmp_path):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(UsageError, match="exists and is not an earlier export"):
        with atomic_directory(str(precious)):
            pass
    assert (precious / "thesis.txt").read_text() == "years of work"


def test_a_file_write_that_fails_keeps_the_previous_file(tmp_path):
    path = str(tmp_path / "model.keras")
    with atomic_file(path) as staging:
        assert staging.endswith(".keras")  # Keras saves by extension
        open(staging, "w").write("first")
    with pytest.raises(RuntimeError):
        with atomic_file(path) as staging:
            open(staging, "w").write("half")
            raise RuntimeError("killed")
    assert open(path).read() == "first" and os.listdir(tmp_path) == ["model.keras"]
