"""Export a fine-tuned `TextClassifier` as a SavedModel that TF Serving answers with raw text.

Signatures (all outputs: `probabilities` float32 [B, C], `label` string [B],
`label_id` int32 [B]):

- `serving_default`: `text` string [B] (and `text_pair` string [B] for a
  classifier trained on pairs). WordPiece tokenization, truncation and
  packing run in the graph (tf-text ops); the vocabulary table is tracked, so
  the SavedModel loads with nothing but TensorFlow and tf-text.
- `serve_ids`: `input_word_ids`, `input_mask`, `input_type_ids` int32 [B, T]
  (Model Garden's names) for clients that tokenize themselves.
- `serve_examples`: `examples` string [B] of serialized `tf.train.Example`s
  with int64 features `input_ids`, `input_mask`, `segment_ids` [seq_length]
  (google-research/bert's names). Word ids go to the token ids and segment
  ids to the type ids (Model Garden's version passed word ids as type ids).

A request to TF Serving's REST API:

    curl -d '{"instances": [{"text": "a gripping, funny film"}]}' \\
        http://localhost:8501/v1/models/classifier:predict
"""

import json
import os

import tensorflow as tf

from pretrain.atomic_files import atomic_directory
from saved_models.saved_model_root import SavedModelRoot


def export_classifier_serving(classifier, output_dir, text_pairs=False):
    """Writes the serving SavedModel of `classifier` (which has a preprocessor).

    Args:
        classifier: a `tasks.TextClassifier` with a `preprocessor`.
        output_dir: str. Directory to write; replaced whole at the end (`pretrain.atomic_files`).
        text_pairs: bool. The classifier reads pairs: `serving_default` takes
            `text` and `text_pair`.

    Returns:
        `output_dir`.
    """
    if classifier.preprocessor is None:
        raise ValueError("classifier has no preprocessor: it cannot take raw text.")
    module = _ClassifierServing(classifier, text_pairs)
    signatures = {
        "serving_default": module.serve_text,
        "serve_ids": module.serve_ids,
        "serve_examples": module.serve_examples,
    }
    with atomic_directory(output_dir) as staging:
        tf.saved_model.save(module, staging, signatures=signatures)
        details = {
            "label_names": classifier.label_names,
            "problem_type": classifier.problem_type,
            "seq_length": classifier.preprocessor.seq_length,
            "text_pairs": text_pairs,
        }
        os.makedirs(os.path.join(staging, "assets.extra"), exist_ok=True)
        with open(os.path.join(staging, "assets.extra", "task.json"), "w", encoding="utf-8") as file:
            json.dump(details, file, indent=2)
    return output_dir


class _ClassifierServing(SavedModelRoot):
    """The SavedModel root: the classifier's variables, the preprocessor (and
    through it the tokenizer's table) and the serving functions."""

    def __init__(self, classifier, text_pairs):
        super().__init__()
        self.classifier = classifier
        self.preprocessor = classifier.preprocessor
        self.variables = [variable.value for variable in classifier.variables]
        self.label_names = tf.constant(classifier.label_names)
        self.seq_length = classifier.preprocessor.seq_length
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
        logits = self.classifier(inputs, training=False)
        probabilities = self.classifier.probabilities(tf.cast(logits, tf.float32))
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {
            "probabilities": probabilities,
            "label_id": label_id,
            "label": tf.gather(self.label_names, label_id),
        }
