"""Sharded TFRecords with google-research/bert's feature names, and their reader.

`write_tfrecords` stores any dataset of fixed-length features: integer features
as `int64_list`, float features as `float_list`, exactly as
`create_pretraining_data.py` writes `input_ids`, `input_mask`, `segment_ids`,
`masked_lm_positions`, `masked_lm_ids`, `masked_lm_weights` and
`next_sentence_labels`. `read_bert_tfrecords` parses those files, ours or
google's, into the features `bert_dataset` yields (int64 cast to int32).

Example:

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> examples = tf.data.Dataset.from_tensors({"input_ids": tf.constant([2, 7, 3, 0])})
>>> paths, count = write_tfrecords(examples, folder, num_shards=1, progress=False)
>>> [p.rsplit("/", 1)[-1] for p in paths], count
(['examples-00000-of-00001.tfrecord'], 1)
"""

import os

import tensorflow as tf

from pretrain.errors import UsageError
from pretrain.examples.pipeline_errors import usage_errors_from_pipeline


def write_tfrecords(dataset, output_dir, num_shards=1, prefix="examples", progress=True):
    """Writes `dataset` round-robin into `num_shards` files; returns `(paths, count)`.

    Args:
        dataset: unbatched `tf.data.Dataset` of dicts of fixed-length tensors.
        output_dir: str. Created if missing.
        num_shards: int. Example `i` goes to shard `i % num_shards`.
        prefix: str. Files are `{prefix}-{i:05d}-of-{num_shards:05d}.tfrecord`.
        progress: bool. Show a counter of written examples.
    """
    if num_shards < 1:
        raise UsageError(f"--num-shards {num_shards} must be at least 1")
    os.makedirs(output_dir, exist_ok=True)
    names = [f"{prefix}-{i:05d}-of-{num_shards:05d}.tfrecord" for i in range(num_shards)]
    paths = [os.path.join(output_dir, name) for name in names]
    writers = [tf.io.TFRecordWriter(path) for path in paths]
    counter = _counter(progress)
    index = -1
    try:
        with usage_errors_from_pipeline():
            for index, features in enumerate(dataset.as_numpy_iterator()):
                writers[index % num_shards].write(_serialize(features))
                counter.update(1)
    finally:
        for writer in writers:
            writer.close()
        counter.close()
    return paths, index + 1


def bert_feature_spec(seq_length, max_predictions):
    """google-research/bert's `name_to_features` for pretraining TFRecords."""
    sequence = tf.io.FixedLenFeature([seq_length], tf.int64)
    predictions = tf.io.FixedLenFeature([max_predictions], tf.int64)
    return {
        "input_ids": sequence,
        "input_mask": sequence,
        "segment_ids": sequence,
        "masked_lm_positions": predictions,
        "masked_lm_ids": predictions,
        "masked_lm_weights": tf.io.FixedLenFeature([max_predictions], tf.float32),
        "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
    }


def read_bert_tfrecords(pattern, seq_length, max_predictions, shard_index=0, num_shards=1):
    """Unbatched dataset of BERT features from TFRecord files matching `pattern`.

    Args:
        pattern: str or list of str. Files or glob patterns.
        seq_length: int. Length the records were written with.
        max_predictions: int. `max_predictions_per_seq` they were written with.
        shard_index, num_shards: read files `shard_index::num_shards`.
    """
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    files = sorted(f for p in patterns for f in tf.io.gfile.glob(p))
    if not files:
        raise UsageError(f"no TFRecord file matches {', '.join(patterns)}")
    spec = bert_feature_spec(seq_length, max_predictions)

    def parse(record):
        features = tf.io.parse_single_example(record, spec)
        return {k: tf.cast(v, tf.int32) if v.dtype == tf.int64 else v for k, v in features.items()}

    dataset = tf.data.TFRecordDataset(files[shard_index::num_shards])
    return dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE)


def _serialize(features):
    def feature(values):
        values = values.reshape(-1)
        if values.dtype.kind == "f":
            return tf.train.Feature(float_list=tf.train.FloatList(value=values))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    feature_map = {name: feature(values) for name, values in features.items()}
    example = tf.train.Example(features=tf.train.Features(feature=feature_map))
    return example.SerializeToString()


def _counter(enabled):
    from tqdm import tqdm

    return tqdm(desc="examples written", unit=" examples", disable=not enabled, mininterval=1.0)
