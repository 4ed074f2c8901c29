"""The seq2seq serving SavedModel: sentinel-aware text encoding, and outputs equal to in-process decoding."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from layers.seq2seq_transformer import Seq2SeqTransformer
from pretrain.examples.span_corruption import add_sentinels
from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer, save_vocabulary
from saved_models.seq2seq_export import encode_text, export_seq2seq, sentinel_lookup
from tasks.seq2seq_decoding import decode, trim
from tests.helpers.fresh_process import last_json_line, run_outside_checkout

VOCABULARY = add_sentinels(list(SPECIAL_TOKENS) + ["the", "cat", "sat", "on", "mat", "##s", "."], 3)
THE, CAT, SAT, SENTINEL_0, SENTINEL_1 = 5, 6, 7, 12, 13


def test_text_encoding_maps_sentinel_markers_and_appends_sep():
    tokenizer = WordPieceTokenizer(VOCABULARY)
    token_ids, mask = encode_text(
        tokenizer, sentinel_lookup(tokenizer), tf.constant(["The [unused1] sat", "[unused0]cats", "the cat sat on the mat ."]), 6
    )
    assert token_ids.numpy().tolist() == [
        [THE, SENTINEL_1, SAT, 3, 0, 0],
        [SENTINEL_0, CAT, 10, 3, 0, 0],
        [THE, CAT, SAT, 8, THE, 3],  # truncated to input_length - 1 pieces, then [SEP]
    ]
    assert mask.numpy().sum(axis=1).tolist() == [4, 4, 6]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(3)
    folder = tmp_path_factory.mktemp("seq2seq_export")
    vocabulary_path = str(folder / "vocab.txt")
    save_vocabulary(VOCABULARY, vocabulary_path)
    model = Seq2SeqTransformer(len(VOCABULARY), 1, 2, 16, 32, dropout=0.0, max_sequence_length=16)
    output = export_seq2seq(
        model, str(folder / "serving"), vocabulary_path, {"lowercase": True, "strip_accents": True},
        input_length=8, num_beams=3, max_length=10,
    )
    return model, output


def test_serving_output_equals_in_process_beam_search(exported, tmp_path):
    model, output = exported
    texts = ["the [unused0] on the mat", "cats sat"]
    tokenizer = WordPieceTokenizer(VOCABULARY)
    token_ids, mask = encode_text(tokenizer, sentinel_lookup(tokenizer), tf.constant(texts), 8)
    expected = decode(model, token_ids, mask, max_length=10, num_beams=3)
    expected_text = [t.decode() for t in tokenizer.detokenize(trim(expected)).numpy()]
    code = (
        "import sys, json, tensorflow as tf, tensorflow_text\n"
        "serve = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "out = serve(text=tf.constant(json.loads(sys.argv[2])))\n"
        "print(json.dumps({'ids': out['output_ids'].numpy().tolist(),\n"
        "                  'text': [t.decode() for t in out['output_text'].numpy()]}))\n"
    )
    served = last_json_line(run_outside_checkout(code, output, json.dumps(texts), cwd=tmp_path))
    np.testing.assert_array_equal(served["ids"], expected.numpy())
    assert served["text"] == expected_text


def test_lengths_beyond_the_backbone_are_rejected(exported, tmp_path):
    model, _ = exported
    with pytest.raises(ValueError, match="max_sequence_length"):
        export_seq2seq(model, str(tmp_path / "x"), "unused", {}, input_length=64)
