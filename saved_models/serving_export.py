"""Export a fine-tuned `TextClassifier` as a SavedModel that TF Serving answers with raw text.

Signatures:

- `serving_default`: `text` string [B] (and `text_pair` string [B] for a
  classifier trained on pairs). WordPiece tokenization, truncation and
  packing run in the graph (tf-text ops); the vocabulary table is tracked, so
  the SavedModel loads with nothing but TensorFlow and tf-text. Each text (or
  pair) is cut to the export's `seq_length` pieces, special tokens included,
  as in training (round-robin between the two sides of a pair); text that is
  not valid UTF-8 is not refused: its bad bytes become `[UNK]`. An empty
  text (or pair side) is answered like any other; `text` and `text_pair` of
  different lengths get an InvalidArgumentError.
- `serve_ids`: `input_word_ids`, `input_mask`, `input_type_ids` int32 [B, T]
  (Model Garden's names) for clients that tokenize themselves.
- `serve_examples`: `examples` string [B] of serialized `tf.train.Example`s
  with int64 features `input_ids`, `input_mask`, `segment_ids` [seq_length]
  (google-research/bert's names). Word ids go to the token ids and segment
  ids to the type ids (Model Garden's version passed word ids as type ids).

The three signatures give the same outputs, which depend on the classifier's
`problem_type` (`OUTPUTS`; C = `num_classes`):

- `single_label`: `probabilities` float32 [B, C] (softmax), `label` string [B]
  (the most probable class's name) and `label_id` int32 [B].
- `multi_label`: `probabilities` float32 [B, C] (independent sigmoids),
  `label_mask` int32 [B, C] (1 where the probability is above the threshold,
  0.5 unless given: the labels that apply) and `labels` string [B] (the names
  of those labels in class order, joined with ","; "" when none applies).
  Plain tensors, so TF Serving's JSON API returns them as lists without
  padding rules; `label_mask` is exact even when a name holds a comma.
- `regression`: `value` float32 [B] (one target) or [B, C] (C targets), the
  head's output; no label.

`assets.extra/task.json` records the problem type, label names, `seq_length`,
`text_pairs`, the output names and, for `multi_label`, the `threshold` and the
`label_separator`.

A request to TF Serving's REST API:

    curl -d '{"instances": [{"text": "a gripping, funny film"}]}' \\
        http://localhost:8501/v1/models/classifier:predict

Example (a tiny untrained multi-label classifier; the values are random, the
layout is not):
>>> import tempfile
>>> from layers import BertEncoder
>>> from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
>>> from tasks.text_classifier import TextClassifier
>>> from tasks.text_preprocessor import TextPreprocessor
>>> vocabulary = list(SPECIAL_TOKENS) + ["good", "dull", "film"]
>>> backbone = BertEncoder.from_size("tiny", vocabulary_size=len(vocabulary), max_sequence_length=16)
>>> classifier = TextClassifier(backbone, 3, preprocessor=TextPreprocessor(WordPieceTokenizer(vocabulary), 8),
...                             problem_type="multi_label", label_names=["funny", "sad", "long"])
>>> path = export_classifier_serving(classifier, tempfile.mkdtemp() + "/serving", threshold=0.3)
>>> answer = tf.saved_model.load(path).signatures["serving_default"](text=tf.constant(["good film", ""]))
>>> {name: value.shape.as_list() for name, value in sorted(answer.items())}
{'label_mask': [2, 3], 'labels': [2], 'probabilities': [2, 3]}
>>> mask = answer["probabilities"].numpy() > 0.3
>>> bool((answer["label_mask"].numpy() == mask).all())
True
>>> json.load(open(path + "/assets.extra/task.json"))["threshold"]
0.3
"""

import json
import os

import tensorflow as tf

from pretrain.atomic_files import atomic_directory
from saved_models.saved_model_root import SavedModelRoot

OUTPUTS = {
    "single_label": ("probabilities", "label", "label_id"),
    "multi_label": ("probabilities", "label_mask", "labels"),
    "regression": ("value",),
}
DEFAULT_THRESHOLD = 0.5
LABEL_SEPARATOR = ","


def export_classifier_serving(classifier, output_dir, text_pairs=False, threshold=None):
    """Writes the serving SavedModel of `classifier` (which has a preprocessor).

    Args:
        classifier: a `tasks.TextClassifier` with a `preprocessor`.
        output_dir: str. Directory to write; replaced whole at the end (`pretrain.atomic_files`).
        text_pairs: bool. The classifier reads pairs: `serving_default` takes
            `text` and `text_pair`.
        threshold: float in [0, 1], `multi_label` only: a label applies when
            its probability is above it. Defaults to 0.5 (logit above 0, as
            the accuracy `compile_for_task` reports).

    Returns:
        `output_dir`.
    """
    if classifier.preprocessor is None:
        raise ValueError("classifier has no preprocessor: it cannot take raw text.")
    problem_type = classifier.problem_type
    if problem_type not in OUTPUTS:
        raise ValueError(f"problem_type={problem_type!r}: the serving export knows {tuple(OUTPUTS)}.")
    if threshold is not None and problem_type != "multi_label":
        raise ValueError(f"threshold={threshold}: only a multi_label classifier has one (this one is {problem_type}).")
    if problem_type == "multi_label":
        threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold={threshold}: a probability threshold is in [0, 1].")
    module = _ClassifierServing(classifier, text_pairs, threshold)
    signatures = {
        "serving_default": module.serve_text,
        "serve_ids": module.serve_ids,
        "serve_examples": module.serve_examples,
    }
    with atomic_directory(output_dir) as staging:
        tf.saved_model.save(module, staging, signatures=signatures)
        details = {
            "label_names": classifier.label_names,
            "problem_type": problem_type,
            "seq_length": classifier.preprocessor.seq_length,
            "text_pairs": text_pairs,
            "outputs": list(OUTPUTS[problem_type]),
        }
        if problem_type == "multi_label":
            details.update(threshold=threshold, label_separator=LABEL_SEPARATOR)
        os.makedirs(os.path.join(staging, "assets.extra"), exist_ok=True)
        with open(os.path.join(staging, "assets.extra", "task.json"), "w", encoding="utf-8") as file:
            json.dump(details, file, indent=2)
    return output_dir


class _ClassifierServing(SavedModelRoot):
    """The SavedModel root: the classifier's variables, the preprocessor (and
    through it the tokenizer's table) and the serving functions."""

    def __init__(self, classifier, text_pairs, threshold):
        super().__init__()
        self.classifier = classifier
        self.preprocessor = classifier.preprocessor
        self.variables = [variable.value for variable in classifier.variables]
        self.label_names = tf.constant(classifier.label_names)
        self.seq_length = classifier.preprocessor.seq_length
        self.problem_type = classifier.problem_type
        self.threshold = threshold
        text = tf.TensorSpec([None], tf.string, name="text")
        if text_pairs:
            pair = tf.TensorSpec([None], tf.string, name="text_pair")
            self.serve_text = tf.function(self._serve_pairs, input_signature=[text, pair])
        else:
            self.serve_text = tf.function(self._serve_texts, input_signature=[text])
        ids = [tf.TensorSpec([None, None], tf.int32, name=name) for name in ("input_word_ids", "input_mask", "input_type_ids")]
        self.serve_ids = tf.function(self._serve_ids, input_signature=ids)
        examples = tf.TensorSpec([None], tf.string, name="examples")
        self.serve_examples = tf.function(self._serve_examples, input_signature=[examples])

    def _serve_texts(self, text):
        return self._answer(self.preprocessor(text))

    def _serve_pairs(self, text, text_pair):
        # Batches of different sizes get an InvalidArgumentError from the preprocessor (`same_size`).
        return self._answer(self.preprocessor(text, text_pair))

    def _serve_ids(self, input_word_ids, input_mask, input_type_ids):
        return self._answer(
            {"token_ids": input_word_ids, "padding_mask": input_mask, "segment_ids": input_type_ids}
        )

    def _serve_examples(self, examples):
        feature = tf.io.FixedLenFeature([self.seq_length], tf.int64)
        names = ("input_ids", "input_mask", "segment_ids")
        parsed = tf.io.parse_example(examples, {name: feature for name in names})
        parsed = {name: tf.cast(value, tf.int32) for name, value in parsed.items()}
        return self._serve_ids(
            input_word_ids=parsed["input_ids"],
            input_mask=parsed["input_mask"],
            input_type_ids=parsed["segment_ids"],
        )

    def _answer(self, inputs):
        inputs = {name: inputs[name] for name in self.classifier.input}
        outputs = tf.cast(self.classifier(inputs, training=False), tf.float32)
        if self.problem_type == "regression":
            value = outputs[:, 0] if self.classifier.num_classes == 1 else outputs
            return {"value": value}
        probabilities = self.classifier.probabilities(outputs)
        if self.problem_type == "multi_label":
            applies = probabilities > self.threshold
            names = tf.ragged.boolean_mask(tf.broadcast_to(self.label_names, tf.shape(applies)), applies)
            labels = tf.strings.reduce_join(names, axis=-1, separator=LABEL_SEPARATOR)
            return {"probabilities": probabilities, "label_mask": tf.cast(applies, tf.int32), "labels": labels}
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {
            "probabilities": probabilities,
            "label_id": label_id,
            "label": tf.gather(self.label_names, label_id),
        }
