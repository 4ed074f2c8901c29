"""Text classification (single texts or pairs), multi-label classification and regression."""

import keras
import tensorflow as tf

from tasks.task_model import TaskModel, default_optimizer
from tasks.text_preprocessor import TextPreprocessor

PROBLEM_TYPES = ("single_label", "multi_label", "regression")
POOLINGS = ("cls", "mean")


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class TextClassifier(TaskModel):
    """A head on a sentence feature of the backbone: dropout, then one dense layer.

    The feature is the backbone's `pooled_output` (the `[CLS]` pooler,
    `pooling="cls"`) or the mean of its `sequence_output` over the real tokens
    (`pooling="mean"`). Use "mean" for a backbone pretrained without
    next-sentence prediction: its pooler was never trained.

    The outputs are logits [B, num_classes]: softmax them for
    `single_label`, sigmoid them for `multi_label` (each label independent);
    for `regression` (num_classes values) they are the predictions.
    `compile_for_task` picks the matching loss: sparse softmax cross-entropy
    (or `SparseFocalLoss`), binary cross-entropy, mean squared error.

    `fit`, `evaluate` and `predict` take raw strings too: a list of texts, a
    `(texts, pairs)` tuple, or a batched `tf.data.Dataset` of them; the
    `preprocessor` tokenizes them with the backbone's WordPiece vocabulary.
    The preprocessor and label names are part of the config, so the `.keras`
    file is self-contained.

    Args:
        backbone: a `layers.BertEncoder` or `tasks.SavedModelBackbone` (a
            backbone whose outputs include `pooled_output`).
        num_classes: int. Number of classes, labels or regression targets.
        preprocessor: a `tasks.TextPreprocessor` or None (then `x` must be
            token-id dicts).
        problem_type: one of "single_label", "multi_label", "regression".
        label_names: list of str, one per class; defaults to "0", "1", ...
        dropout: float. Dropout before the dense layer. Defaults to 0.1.
        pooling: "cls" or "mean", as above. Defaults to "cls".

    Example (a tiny untrained backbone and vocabulary):
    >>> from layers import BertEncoder
    >>> from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
    >>> vocabulary = list(SPECIAL_TOKENS) + ["good", "dull", "film"]
    >>> backbone = BertEncoder.from_size("tiny", vocabulary_size=len(vocabulary), max_sequence_length=16)
    >>> preprocessor = TextPreprocessor(WordPieceTokenizer(vocabulary), seq_length=8)
    >>> classifier = TextClassifier(backbone, num_classes=2, preprocessor=preprocessor)
    >>> classifier.compile_for_task(learning_rate=5e-5)
    >>> history = classifier.fit(["good film", "dull"], [1, 0], epochs=1, verbose=0)
    >>> logits = classifier.predict(["good film", "dull film"], verbose=0)
    >>> logits.shape, str(logits.dtype)
    ((2, 2), 'float32')
    """

    preprocessor_class = TextPreprocessor

    def __init__(
        self,
        backbone,
        num_classes,
        preprocessor=None,
        problem_type="single_label",
        label_names=None,
        dropout=0.1,
        pooling="cls",
        **kwargs,
    ):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r}: use one of {POOLINGS}.")
        if problem_type not in PROBLEM_TYPES:
            raise ValueError(f"problem_type={problem_type!r}: use one of {PROBLEM_TYPES}.")
        if num_classes < 1:
            raise ValueError(f"num_classes={num_classes}: must be >= 1.")
        label_names = list(label_names) if label_names is not None else [str(i) for i in range(num_classes)]
        if len(label_names) != num_classes:
            raise ValueError(f"label_names has {len(label_names)} names for num_classes={num_classes}.")
        backbone_output = "pooled_output" if pooling == "cls" else "sequence_output"
        super().__init__(
            backbone, backbone_output, num_classes, preprocessor=preprocessor, dropout=dropout,
            mean_pooled=pooling == "mean", **kwargs,
        )
        self.num_classes = num_classes
        self.pooling = pooling
        self.problem_type = problem_type
        self.label_names = label_names

    def compile_for_task(self, optimizer=None, learning_rate=5e-5, loss=None, **kwargs):
        """`compile` with the loss and metric that fit `problem_type`."""
        if loss is None:
            loss = {
                "single_label": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                "multi_label": keras.losses.BinaryCrossentropy(from_logits=True),
                "regression": keras.losses.MeanSquaredError(),
            }[self.problem_type]
        metrics = {
            "single_label": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            "multi_label": [keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)],
            "regression": [keras.metrics.MeanAbsoluteError(name="mae")],
        }[self.problem_type]
        self.compile(optimizer=optimizer or default_optimizer(learning_rate), loss=loss, metrics=metrics, **kwargs)

    def probabilities(self, logits):
        """Logits -> class probabilities (softmax or sigmoid); regression: unchanged."""
        logits = tf.convert_to_tensor(logits)
        if self.problem_type == "single_label":
            return tf.nn.softmax(logits, axis=-1)
        if self.problem_type == "multi_label":
            return tf.sigmoid(logits)
        return logits

    def make_dataset(self, x, y, batch_size, shuffle=False):
        """Raw texts (list, `(texts, pairs)` or a batched dataset) -> batched model inputs."""
        if isinstance(x, tf.data.Dataset):
            dataset = x
        else:
            x = tuple(tf.constant(list(part), tf.string) for part in x) if isinstance(x, tuple) else tf.constant(list(x), tf.string)
            dataset = tf.data.Dataset.from_tensor_slices((x,) if y is None else (x, _labels(y, self.problem_type)))
            if shuffle:
                dataset = dataset.shuffle(len(y), reshuffle_each_iteration=True)
            dataset = dataset.batch(batch_size)

        def preprocess(texts, *rest):
            if rest and rest[0].dtype == tf.string:  # a dataset of (text, pair) without labels
                texts, rest = (texts, rest[0]), rest[1:]
            inputs = self.preprocessor(*texts) if isinstance(texts, tuple) else self.preprocessor(texts)
            return (inputs, *rest) if rest else inputs

        return dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "problem_type": self.problem_type,
            "label_names": self.label_names,
            "pooling": self.pooling,
        }


def _labels(y, problem_type):
    dtype = tf.int32 if problem_type == "single_label" else tf.float32
    return tf.constant(y, dtype)
