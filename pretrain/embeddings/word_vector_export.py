"""Write trained word vectors where users' tools read them.

- `vectors.txt` / `vectors.bin`: word2vec text and binary formats
  (`gensim.models.KeyedVectors.load_word2vec_format(path, binary=...)`).
- `logs/`: TensorBoard projector files (`metadata.tsv`, a checkpoint of the
  `embedding` variable, `projector_config.pbtxt`).
- `saved_model/`: a SavedModel whose `serving_default` maps a batch of
  strings (`words`, lowercased in the graph) to `vectors` [batch, dim];
  unknown words get their subword vector (fastText) or zeros. It uses core
  TensorFlow ops only, so it loads without this project or tensorflow-text.

Example:

>>> import tempfile, numpy as np
>>> from pretrain.embeddings.word_vectors import WordVectors
>>> directory = tempfile.mkdtemp()
>>> write_word2vec_format(WordVectors(["a", "b"], np.eye(2, dtype=np.float32)), directory + "/v.txt")
>>> open(directory + "/v.txt").read().splitlines()[:2]
['2 2', 'a 1 0']
"""

import os

import tensorflow as tf

from pretrain.atomic_files import atomic_directory, atomic_file


def write_word2vec_format(vectors, path, binary=False):
    """word2vec's format: a `count dim` header, then one word per line with its values."""
    with open(path, "wb") as file:
        file.write(f"{len(vectors.words)} {vectors.dim}\n".encode())
        for word, vector in zip(vectors.words, vectors.vectors):
            if binary:
                file.write(word.encode("utf-8") + b" " + vector.astype("<f4").tobytes() + b"\n")
            else:
                values = " ".join(f"{value:.6g}" for value in vector.tolist())
                file.write(f"{word} {values}\n".encode("utf-8"))


def write_projector(vectors, log_dir):
    """Files for TensorBoard's embedding projector in `log_dir`."""
    from tensorboard.plugins import projector

    os.makedirs(log_dir, exist_ok=True)
    with open(os.path.join(log_dir, "metadata.tsv"), "w", encoding="utf-8") as file:
        file.writelines(f"{word}\n" for word in vectors.words)
    embedding = tf.Variable(vectors.vectors, name="embedding")
    tf.train.Checkpoint(embedding=embedding).save(os.path.join(log_dir, "embedding.ckpt"))
    config = projector.ProjectorConfig()
    entry = config.embeddings.add()
    entry.tensor_name = "embedding/.ATTRIBUTES/VARIABLE_VALUE"
    entry.metadata_path = "metadata.tsv"
    projector.visualize_embeddings(log_dir, config)


class WordVectorModule(tf.Module):
    """The served model: word -> vector lookup, with fastText subwords for unknown words."""

    def __init__(self, vectors):
        super().__init__()
        self.vectors = tf.Variable(vectors.vectors, trainable=False, name="vectors")
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(vectors.words), tf.range(len(vectors.words), dtype=tf.int64)
            ),
            default_value=-1,
        )
        hasher = getattr(vectors, "hasher", None)
        self.hasher = hasher
        if hasher is not None:
            self.bucket_vectors = tf.Variable(vectors.bucket_vectors, trainable=False, name="bucket_vectors")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
    def serve(self, words):
        words = tf.strings.lower(words, encoding="utf-8")
        ids = self.table.lookup(words)  # (B,), -1 if unknown
        known = tf.gather(self.vectors, tf.maximum(ids, 0))  # (B, D)
        if self.hasher is None:
            unknown = tf.zeros_like(known)
        else:
            buckets = self.hasher.tf_buckets(words)  # (B, ngrams) ragged
            unknown = tf.reduce_mean(tf.gather(self.bucket_vectors, buckets), axis=1)  # (B, D); NaN if none
            unknown = tf.where(tf.math.is_finite(unknown), unknown, 0.0)
        return {"vectors": tf.where((ids >= 0)[:, None], known, unknown)}


def export_saved_model(vectors, directory):
    module = WordVectorModule(vectors)
    tf.saved_model.save(module, directory, signatures={"serving_default": module.serve})


def export_all(vectors, output_dir):
    """All formats into `output_dir`; returns the paths written."""
    os.makedirs(output_dir, exist_ok=True)
    paths = {
        "text": os.path.join(output_dir, "vectors.txt"),
        "binary": os.path.join(output_dir, "vectors.bin"),
        "projector": os.path.join(output_dir, "logs"),
        "saved_model": os.path.join(output_dir, "saved_model"),
    }
    for path, binary in ((paths["text"], False), (paths["binary"], True)):
        with atomic_file(path) as staging:
            write_word2vec_format(vectors, staging, binary=binary)
    write_projector(vectors, paths["projector"])
    with atomic_directory(paths["saved_model"]) as staging:
        export_saved_model(vectors, staging)
    return paths
