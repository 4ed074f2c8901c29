"""Token classification (tagging: NER, POS) on a BERT backbone."""

import keras
import tensorflow as tf

from tasks.tagging_preprocessor import TaggingPreprocessor
from tasks.task_model import TaskModel, default_optimizer


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class TokenClassifier(TaskModel):
    """Per-token logits [B, T, num_tags] from the backbone's `sequence_output`.

    Trained on the first piece of each word (the preprocessor returns 0/1
    sample weights that mark them), with sparse softmax cross-entropy;
    `fit`/`evaluate`/`predict` take lists of word lists (and tag-id lists).
    `predict_tags(sentences)` returns tag names per word.

    Args:
        backbone: a `layers.BertEncoder` (or `tasks.SavedModelBackbone`).
        num_tags: int. Number of tags.
        preprocessor: a `tasks.TaggingPreprocessor` or None.
        tag_names: list of str, one per tag.
        dropout: float. Dropout before the dense layer. Defaults to 0.1.

    Example (a tiny backbone learns three tags of one sentence):
    >>> import keras
    >>> from layers import BertEncoder
    >>> from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
    >>> from tasks.tagging_preprocessor import TaggingPreprocessor
    >>> keras.utils.set_random_seed(0)
    >>> vocabulary = list(SPECIAL_TOKENS) + ["in", "new", "york"]
    >>> backbone = BertEncoder.from_size("tiny", vocabulary_size=len(vocabulary), max_sequence_length=16)
    >>> preprocessor = TaggingPreprocessor(WordPieceTokenizer(vocabulary), seq_length=8)
    >>> tagger = TokenClassifier(backbone, 3, preprocessor, ["O", "B-LOC", "I-LOC"], dropout=0.0)
    >>> tagger.compile_for_task(learning_rate=1e-3)
    >>> history = tagger.fit([["in", "new", "york"]], [[0, 1, 2]], epochs=10, verbose=0)
    >>> tagger.predict_tags([["in", "new", "york"]])
    [['O', 'B-LOC', 'I-LOC']]
    """

    preprocessor_class = TaggingPreprocessor

    def __init__(self, backbone, num_tags, preprocessor=None, tag_names=None, dropout=0.1, **kwargs):
        tag_names = list(tag_names) if tag_names is not None else [str(i) for i in range(num_tags)]
        if len(tag_names) != num_tags:
            raise ValueError(f"tag_names has {len(tag_names)} names for num_tags={num_tags}.")
        super().__init__(backbone, "sequence_output", num_tags, preprocessor=preprocessor, dropout=dropout, **kwargs)
        self.num_tags = num_tags
        self.tag_names = tag_names

    def compile_for_task(self, optimizer=None, learning_rate=5e-5, **kwargs):
        """`compile` with first-piece-weighted cross-entropy and accuracy."""
        self.compile(
            optimizer=optimizer or default_optimizer(learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            **kwargs,
        )

    def make_dataset(self, x, y, batch_size, shuffle=False):
        """Word lists (and tag-id lists) -> batched (inputs, labels, first-piece weights)."""
        words = tf.ragged.constant([list(sentence) for sentence in x], tf.string)
        if y is None:
            dataset = tf.data.Dataset.from_tensor_slices(words)
        else:
            tags = tf.ragged.constant([list(sentence) for sentence in y], tf.int32)
            dataset = tf.data.Dataset.from_tensor_slices((words, tags))
            if shuffle:
                dataset = dataset.shuffle(len(y), reshuffle_each_iteration=True)
        dataset = dataset.ragged_batch(batch_size)

        def preprocess(words, tags=None):
            if tags is None:
                return self.preprocessor(words)[0]
            inputs, first_piece, labels = self.preprocessor(words, tags)
            return inputs, labels, first_piece

        return dataset.map(preprocess).prefetch(tf.data.AUTOTUNE)

    def predict_tags(self, sentences, batch_size=32):
        """Lists of words -> lists of tag names, one per word (truncated words: none)."""
        logits = self.predict(sentences, batch_size=batch_size, verbose=0)
        predicted = logits.argmax(-1)
        _, first_piece = self.preprocessor(tf.ragged.constant([list(s) for s in sentences], tf.string))
        first_piece = first_piece.numpy().astype(bool)
        return [[self.tag_names[t] for t in row[mask]] for row, mask in zip(predicted, first_piece)]

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags, "tag_names": self.tag_names}
