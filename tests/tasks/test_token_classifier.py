import keras
import numpy as np

from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
from tasks.backbone_loading import load_backbone
from tasks.tagging_preprocessor import TaggingPreprocessor
from tasks.token_classifier import TokenClassifier

SENTENCES = [["john", "lives", "in", "london"], ["mary", "visited", "paris"], ["the", "film", "is", "good"]]
TAGS = [[1, 0, 0, 2], [1, 0, 2], [0, 0, 0, 0]]
TAG_NAMES = ["O", "PER", "LOC"]


def test_labels_sit_on_first_pieces_and_long_sentences_are_truncated():
    tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + ["new", "york", "##er", "in"])
    inputs, first, labels = TaggingPreprocessor(tokenizer, seq_length=7)([["in", "new", "yorker"], ["new"] * 9], [[0, 1, 2], [1] * 9])
    assert inputs["token_ids"].numpy().tolist() == [[2, 8, 5, 6, 7, 3, 0], [2, 5, 5, 5, 5, 5, 3]]
    assert first.numpy().tolist() == [[0, 1, 1, 1, 0, 0, 0], [0, 1, 1, 1, 1, 1, 0]]
    assert labels.numpy().tolist() == [[0, 0, 1, 2, 0, 0, 0], [0, 1, 1, 1, 1, 1, 0]]


def test_tagger_learns_tags_and_round_trips(bert_pretrained, tmp_path):
    keras.utils.set_random_seed(0)
    loaded = load_backbone(bert_pretrained[0])
    tagger = TokenClassifier(loaded.backbone, 3, TaggingPreprocessor(loaded.tokenizer, 16), TAG_NAMES, dropout=0.0)
    tagger.compile_for_task(learning_rate=2e-2)
    history = tagger.fit(SENTENCES, TAGS, epochs=15, batch_size=3, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    assert tagger.predict_tags(SENTENCES) == [[TAG_NAMES[t] for t in tags] for tags in TAGS]
    tagger.save(tmp_path / "tagger.keras")
    restored = keras.saving.load_model(tmp_path / "tagger.keras")
    np.testing.assert_allclose(restored.predict(SENTENCES, verbose=0), tagger.predict(SENTENCES, verbose=0), atol=1e-5)


def test_predict_tags_gives_no_tags_to_an_empty_sentence_even_first(bert_pretrained):
    loaded = load_backbone(bert_pretrained[0])
    tagger = TokenClassifier(loaded.backbone, 3, TaggingPreprocessor(loaded.tokenizer, 16), TAG_NAMES)
    tags = tagger.predict_tags([[], ["mary", "visited", "paris"], []])
    assert [len(row) for row in tags] == [0, 3, 0]
    assert set(tags[1]) <= set(TAG_NAMES)
