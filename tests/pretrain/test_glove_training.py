"""GloVe: the update is AdaGrad on the exact gradient of the weighted least-squares loss; it learns on Lee."""

import numpy as np
import tensorflow as tf

from pretrain.embeddings.glove import GloVeConfig, GloVeTrainer
from pretrain.embeddings.word_corpus import EncodedCorpus
from pretrain.text.corpus import read_documents


def test_gradient_is_exact(tmp_path):
    corpus = EncodedCorpus.build([["a b c d a b"]] * 3, str(tmp_path / "corpus"))
    trainer = GloVeTrainer(GloVeConfig(dim=3, min_count=1, x_max=2.0), corpus, str(tmp_path))
    trainer.table.assign(np.random.default_rng(0).normal(size=trainer.table.shape).astype(np.float32))
    rows, columns = tf.constant([0, 1, 2, 0]), tf.constant([1, 2, 3, 3])
    counts = tf.constant([1.0, 3.0, 0.5, 2.0])
    with tf.GradientTape() as tape:
        loss, gradient = trainer._gradients(rows, columns, counts)
    exact = tf.convert_to_tensor(tape.gradient(loss, trainer.table))
    ours = tf.math.unsorted_segment_sum(gradient.values, gradient.indices, trainer.table.shape[0])
    np.testing.assert_allclose(ours.numpy(), exact.numpy(), atol=1e-5)


def test_glove_on_lee_corpus_learns_related_words(lee_corpus_path, tmp_path):
    corpus = EncodedCorpus.build(read_documents(lee_corpus_path), str(tmp_path / "corpus"))
    config = GloVeConfig(dim=50, min_count=3, epochs=15, x_max=10, memory_entries=200_000)
    trainer = GloVeTrainer(config, corpus, str(tmp_path))
    vectors = trainer.train(verbose=False)
    losses = [record["loss"] for record in trainer.history]
    assert losses[-1] < 0.5 * losses[0]
    neighbours = [word for word, _ in vectors.keyed_vectors().most_similar("attacks", topn=50)]
    assert {"september", "terrorist", "attack", "suicide"} & set(neighbours)
