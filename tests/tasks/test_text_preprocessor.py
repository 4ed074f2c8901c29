"""TextPreprocessor: texts and pairs of different batch sizes are refused before tf-text's trimmer reads past the
shorter one, eagerly with a ValueError and in a graph (a SavedModel signature) with an InvalidArgumentError."""

import pytest
import tensorflow as tf

from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
from tasks.text_preprocessor import SIZES_DIFFER, TextPreprocessor


@pytest.fixture(scope="module")
def preprocessor():
    return TextPreprocessor(WordPieceTokenizer(list(SPECIAL_TOKENS) + ["a", "b", "c"]), seq_length=8)


def test_pairs_of_equal_batches_pack_each_text_with_its_pair(preprocessor):
    inputs = preprocessor(["a", "b c"], tf.constant(["c", "a"]))
    assert inputs["token_ids"].numpy().tolist() == [[2, 5, 3, 7, 3, 0, 0, 0], [2, 6, 7, 3, 5, 3, 0, 0]]


@pytest.mark.parametrize("texts, pairs", [(["a", "b"], ["c"]), (["a"], ["b", "c"]), ([], ["a"])])
def test_a_python_caller_with_batches_of_different_sizes_gets_a_value_error(preprocessor, texts, pairs):
    with pytest.raises(ValueError, match=rf"{SIZES_DIFFER} \(texts: {len(texts)}, pairs: {len(pairs)}\)"):
        preprocessor(texts, pairs)


def test_a_graph_with_unknown_batch_sizes_refuses_them_when_it_runs(preprocessor):
    spec = tf.TensorSpec([None], tf.string)
    packed = tf.function(lambda texts, pairs: preprocessor(texts, pairs)["token_ids"], input_signature=[spec, spec])
    assert packed(tf.constant(["a", "b"]), tf.constant(["c", "a"])).shape == (2, 8)
    with pytest.raises(tf.errors.InvalidArgumentError, match=SIZES_DIFFER):
        packed(tf.constant(["a", "b"]), tf.constant(["c"]))
