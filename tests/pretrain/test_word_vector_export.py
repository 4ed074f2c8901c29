"""Exports: word2vec text/binary read by gensim, projector files, SavedModel served without this project."""

import json
import os

import numpy as np
import pytest
from gensim.models import KeyedVectors

from pretrain.embeddings.fasttext import FastTextConfig, train_fasttext
from pretrain.embeddings.word_corpus import EncodedCorpus
from pretrain.embeddings.word_vector_export import export_all
from pretrain.embeddings.word_vectors import WordVectors
from tests.helpers.fresh_process import last_json_line, run_outside_checkout

SERVE = """
import json, sys
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
words = json.loads(sys.argv[2])
print(json.dumps(model.signatures["serving_default"](words=tf.constant(words))["vectors"].numpy().tolist()))
"""


def serve_in_clean_process(saved_model_dir, words, cwd):
    """Vectors from the SavedModel in a process that imports only tensorflow, outside the repository."""
    stdout = run_outside_checkout(SERVE, saved_model_dir, json.dumps(words), cwd=cwd)
    return np.array(last_json_line(stdout), np.float32)


def test_word2vec_formats_projector_and_saved_model(tmp_path):
    rng = np.random.default_rng(0)
    words = ["the", "café", "東京", "x"]
    vectors = WordVectors(words, rng.normal(size=(4, 5)).astype(np.float32))
    output = tmp_path / "out"
    export_all(vectors, str(output))
    text = KeyedVectors.load_word2vec_format(str(output / "vectors.txt"))
    binary = KeyedVectors.load_word2vec_format(str(output / "vectors.bin"), binary=True)
    for word in words:
        np.testing.assert_allclose(text[word], vectors[word], rtol=1e-5)
        np.testing.assert_array_equal(binary[word], vectors[word])
    logs = output / "logs"
    assert (logs / "metadata.tsv").read_text(encoding="utf-8").split() == words
    assert "metadata.tsv" in (logs / "projector_config.pbtxt").read_text()
    assert any(name.startswith("embedding.ckpt") for name in os.listdir(logs))
    served = serve_in_clean_process(str(output / "saved_model"), ["CAFÉ", "the", "unknown"], str(tmp_path))
    np.testing.assert_allclose(served[:2], vectors.vectors[[1, 0]], rtol=1e-6)
    np.testing.assert_array_equal(served[2], np.zeros(5))


@pytest.mark.parametrize("architecture", ["cbow"])
def test_fasttext_saved_model_gives_unseen_words_their_subword_vector(tmp_path, architecture):
    corpus = EncodedCorpus.build([["walking talking walked talked walks"]] * 20, str(tmp_path / "corpus"))
    config = FastTextConfig(dim=8, min_count=1, epochs=1, sample=0, buckets=3000, architecture=architecture)
    vectors = train_fasttext(config, corpus, verbose=False)
    output = tmp_path / "out"
    export_all(vectors, str(output))
    served = serve_in_clean_process(str(output / "saved_model"), ["walking", "Talks", "ü"], str(tmp_path))
    np.testing.assert_allclose(served[0], vectors["walking"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(served[1], vectors["talks"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(served[2], vectors["ü"], rtol=1e-5, atol=1e-7)  # '<ü>' is a 3-gram
