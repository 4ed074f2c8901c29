"""TFRecords: google-research/bert's exact records are read; ours round-trip in shards."""

import collections

import numpy as np
import pytest
import tensorflow as tf

from pretrain.errors import UsageError
from pretrain.examples.bert_examples import bert_dataset
from pretrain.examples.tfrecords import read_bert_tfrecords, write_tfrecords
from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer


def google_record(input_ids, segment_ids, positions, label_ids, next_sentence_label, seq_length=128, max_pred=20):
    """A record built the way create_pretraining_data.py's write_instance_to_example_files does."""

    def int_feature(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))

    def float_feature(values):
        return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))

    input_mask = [1] * len(input_ids)
    pad = seq_length - len(input_ids)
    weights = [1.0] * len(positions) + [0.0] * (max_pred - len(positions))
    features = collections.OrderedDict(
        input_ids=int_feature(input_ids + [0] * pad),
        input_mask=int_feature(input_mask + [0] * pad),
        segment_ids=int_feature(segment_ids + [0] * pad),
        masked_lm_positions=int_feature(positions + [0] * (max_pred - len(positions))),
        masked_lm_ids=int_feature(label_ids + [0] * (max_pred - len(label_ids))),
        masked_lm_weights=float_feature(weights),
        next_sentence_labels=int_feature([next_sentence_label]),
    )
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def test_reads_google_research_bert_records(tmp_path):
    input_ids = [101, 2023, 103, 2003, 102, 2178, 6251, 102]
    path = str(tmp_path / "google.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        writer.write(google_record(input_ids, [0] * 5 + [1] * 3, [2, 6], [2742, 6251], 1))
    (example,) = list(read_bert_tfrecords(path, 128, 20))
    assert example["input_ids"].dtype == tf.int32 and example["masked_lm_weights"].dtype == tf.float32
    assert example["input_ids"].numpy()[:9].tolist() == input_ids + [0]
    assert example["input_mask"].numpy().sum() == 8 and example["segment_ids"].numpy().sum() == 3
    assert example["masked_lm_positions"].numpy()[:3].tolist() == [2, 6, 0]
    assert example["masked_lm_ids"].numpy()[:3].tolist() == [2742, 6251, 0]
    assert example["masked_lm_weights"].numpy().sum() == 2.0
    assert example["next_sentence_labels"].numpy().tolist() == [1]


def test_our_examples_round_trip_through_shards(tmp_path, lee_corpus_path):
    vocabulary = list(SPECIAL_TOKENS) + sorted(
        {w for line in open(lee_corpus_path, encoding="utf-8") for w in line.lower().split()}
    )
    tokenizer = WordPieceTokenizer(vocabulary)
    dataset = bert_dataset(lee_corpus_path, tokenizer, seq_length=64, max_predictions=10, seed=2).take(200)
    written = list(dataset.as_numpy_iterator())
    paths, count = write_tfrecords(tf.data.Dataset.from_tensor_slices(
        {k: np.stack([w[k] for w in written]) for k in written[0]}), str(tmp_path), num_shards=3, progress=False)
    assert count == 200
    assert [p.rsplit("/", 1)[1] for p in paths] == [f"examples-0000{i}-of-00003.tfrecord" for i in range(3)]
    shards = [list(read_bert_tfrecords(p, 64, 10).as_numpy_iterator()) for p in paths]
    assert [len(s) for s in shards] == [67, 67, 66]
    for index, example in enumerate(written):
        read = shards[index % 3][index // 3]
        assert set(read) == set(example)
        assert all((read[k] == example[k]).all() for k in example)
    both = read_bert_tfrecords([str(tmp_path / "*-00000-*"), str(tmp_path / "*-00002-*")], 64, 10)
    assert sum(1 for _ in both) == 133


def test_missing_records_are_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no TFRecord file matches"):
        read_bert_tfrecords(str(tmp_path / "*.tfrecord"), 128, 20)

