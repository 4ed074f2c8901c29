"""Export a fine-tuned `TokenClassifier` as a SavedModel that TF Serving answers with raw sentences.

Signatures:

- `serving_default`: `text` string [B], one sentence each. The graph splits
  it into words on whitespace exactly as Python's `str.split()` (and so the
  CoNLL reader) does, then tokenizes each word into WordPiece pieces with
  tf-text ops, as `TaggingPreprocessor` does in training. Outputs, one row
  per sentence padded to the longest sentence's W words:
  `words` string [B, W] (padding ""), `tags` string [B, W] (padding ""),
  `tag_ids` int32 [B, W] (padding -1), `probabilities` float32
  [B, W, num_tags] (padding 0; the softmax at each word's first piece, the
  piece the tagger is trained on) and `num_words` int32 [B].
- `serve_words`: `words` string [B, W] for clients that split words
  themselves; shorter sentences are padded with "" at the end (trailing ""
  are dropped, so TF Serving's REST "instances" rows can share one length).
  Same outputs.
- `serve_ids`: `input_word_ids`, `input_mask`, `input_type_ids` int32 [B, T]
  (Model Garden's names) -> per-piece `probabilities` float32 [B, T, num_tags],
  `tag_ids` int32 [B, T], `tags` string [B, T].

Truncation: a sentence keeps `seq_length - 2` pieces ([CLS] and [SEP] take
the rest). A word whose first piece falls beyond that is not tagged: its
`tags` entry is "", its `tag_ids` entry -1 and its probabilities are 0, while
`words` and `num_words` still count it, so clients see which words were cut
(`TokenClassifier.predict_tags` returns no tag for them). An empty or
all-whitespace sentence has zero words.

A request to TF Serving's REST API:

    curl -d '{"instances": [{"text": "John lives in London"}]}' \\
        http://localhost:8501/v1/models/tagger:predict
"""

import json
import os

import tensorflow as tf
import tensorflow_text as tf_text

from pretrain.atomic_files import atomic_directory
from saved_models.saved_model_root import SavedModelRoot

# The characters `str.isspace()` accepts: splitting on runs of them (empty
# words dropped) gives exactly Python's `sentence.split()`.
_WHITESPACE = "[" + "".join(f"\\x{{{code:04X}}}" for code in range(0x110000) if chr(code).isspace()) + "]+"


def export_tagger_serving(tagger, output_dir):
    """Writes the serving SavedModel of `tagger` (which has a preprocessor).

    Args:
        tagger: a `tasks.TokenClassifier` with a `preprocessor`.
        output_dir: str. Directory to write; replaced whole at the end (`pretrain.atomic_files`).

    Returns:
        `output_dir`.
    """
    if tagger.preprocessor is None:
        raise ValueError("tagger has no preprocessor: it cannot take raw text.")
    module = _TaggerServing(tagger)
    signatures = {
        "serving_default": module.serve_text,
        "serve_words": module.serve_words,
        "serve_ids": module.serve_ids,
    }
    with atomic_directory(output_dir) as staging:
        tf.saved_model.save(module, staging, signatures=signatures)
        details = {
            "task": "token_classification",
            "tag_names": tagger.tag_names,
            "seq_length": tagger.preprocessor.seq_length,
        }
        os.makedirs(os.path.join(staging, "assets.extra"), exist_ok=True)
        with open(os.path.join(staging, "assets.extra", "task.json"), "w", encoding="utf-8") as file:
            json.dump(details, file, indent=2)
    return output_dir


def split_words(text):
    """Sentences string [B] -> ragged words [B, W], split as Python's `str.split()`."""
    return tf_text.regex_split(text, _WHITESPACE)


class _TaggerServing(SavedModelRoot):
    """The SavedModel root: the tagger's variables, the preprocessor (and
    through it the tokenizer's table) and the serving functions."""

    def __init__(self, tagger):
        super().__init__()
        self.tagger = tagger
        self.preprocessor = tagger.preprocessor
        self.variables = [variable.value for variable in tagger.variables]
        self.tag_names = tf.constant(tagger.tag_names)
        text = tf.TensorSpec([None], tf.string, name="text")
        self.serve_text = tf.function(self._serve_text, input_signature=[text])
        words = tf.TensorSpec([None, None], tf.string, name="words")
        self.serve_words = tf.function(self._serve_words, input_signature=[words])
        ids = [tf.TensorSpec([None, None], tf.int32, name=name) for name in ("input_word_ids", "input_mask", "input_type_ids")]
        self.serve_ids = tf.function(self._serve_ids, input_signature=ids)

    def _serve_text(self, text):
        return self._tag_words(split_words(text))

    def _serve_words(self, words):
        return self._tag_words(tf.RaggedTensor.from_tensor(words, padding=""))

    def _serve_ids(self, input_word_ids, input_mask, input_type_ids):
        probabilities = self._probabilities(
            {"token_ids": input_word_ids, "padding_mask": input_mask, "segment_ids": input_type_ids}
        )
        tag_ids = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"probabilities": probabilities, "tag_ids": tag_ids, "tags": tf.gather(self.tag_names, tag_ids)}

    def _tag_words(self, words):
        """Ragged words [B, W] -> the per-word answers, padded to [B, W]."""
        inputs, first_piece = self.preprocessor(words)
        probabilities = self._probabilities(inputs)  # [B, T, num_tags]
        positions = tf.where(tf.equal(first_piece, 1))  # [tagged words, 2]: (sentence, piece), in word order
        per_word = tf.RaggedTensor.from_value_rowids(
            tf.gather_nd(probabilities, positions), positions[:, 0], nrows=tf.shape(first_piece, out_type=tf.int64)[0]
        )  # [B, tagged words, num_tags]
        tag_ids = per_word.with_flat_values(tf.argmax(per_word.flat_values, axis=-1, output_type=tf.int32))
        padded_words = words.to_tensor(default_value="")  # [B, W]
        batch_size, max_words = tf.shape(padded_words)[0], tf.shape(padded_words)[1]
        return {
            "words": padded_words,
            "tags": tag_ids.with_flat_values(tf.gather(self.tag_names, tag_ids.flat_values)).to_tensor(
                default_value="", shape=[batch_size, max_words]
            ),
            "tag_ids": tag_ids.to_tensor(default_value=-1, shape=[batch_size, max_words]),
            "probabilities": per_word.to_tensor(default_value=0.0, shape=[batch_size, max_words, len(self.tagger.tag_names)]),
            "num_words": tf.cast(words.row_lengths(), tf.int32),
        }

    def _probabilities(self, inputs):
        inputs = {name: inputs[name] for name in self.tagger.input}
        logits = self.tagger(inputs, training=False)  # [B, T, num_tags]
        return tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
