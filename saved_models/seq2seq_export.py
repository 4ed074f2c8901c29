"""Export an encoder–decoder as a serving SavedModel: strings in, decoded strings out.

The SavedModel needs only `tensorflow` and `tensorflow_text` to load. Its
`serving_default` signature takes `text` (string `[B]`) and returns
`output_text` (string `[B]`, WordPiece pieces joined, `##` merged) and
`output_ids` (int32 `[B, max_length]`, the decoder buffer: `[CLS]`, the
generated ids, `[SEP]`, then `[PAD]`). In the graph: WordPiece tokenization,
truncation to `input_length - 1` pieces plus `[SEP]`, the encoder, and beam
search (greedy when `num_beams=1`) with the decoder's key/value cache.

The literal text `[unusedK]` in a request becomes sentinel `K` (the span
corruption objective's mask token), so a denoising model fills in spans:

    text:        "the [unused0] sat on the mat"
    output_text: "[unused0] cat [unused1] ..."

Also saved: `assets/vocab.txt` and `assets.extra/config.json` (backbone config,
tokenizer options, decoding settings).

Example (from any Python with TensorFlow and tf-text):

    import tensorflow as tf, tensorflow_text  # noqa: F401 (registers the ops)
    serve = tf.saved_model.load("runs/t5/serving").signatures["serving_default"]
    serve(text=tf.constant(["the [unused0] sat on the mat"]))["output_text"]
"""

import json
import os
import re

import tensorflow as tf
import tensorflow_text as tf_text

from pretrain.atomic_files import atomic_directory
from pretrain.text.tokenizer import SEP_ID, WordPieceTokenizer, load_vocabulary
from saved_models.saved_model_root import SavedModelRoot
from tasks.seq2seq_decoding import decode, trim

SENTINEL_PATTERN = r"\[unused\d+\]"


def export_seq2seq(
    backbone,
    output_dir,
    vocabulary_path,
    tokenizer_options,
    input_length=128,
    num_beams=4,
    max_length=64,
    length_penalty=0.0,
):
    """Writes the serving SavedModel described in this module to `output_dir`.

    Args:
        backbone: `layers.seq2seq_transformer.Seq2SeqTransformer`.
        output_dir: str. Directory to write; replaced whole at the end (`pretrain.atomic_files`).
        vocabulary_path: str. The `vocab.txt` of the model (sentinels included).
        tokenizer_options: dict with `lowercase` and `strip_accents`.
        input_length: int. Encoder positions per request, `[SEP]` included.
        num_beams: int. Beam width; 1 is greedy search.
        max_length: int. Decoder positions, the start token included.
        length_penalty: float. GNMT length normalisation of the final beams
            (`tasks.seq2seq_decoding.decode`); 0 ranks by the raw score.

    Returns:
        `output_dir`.
    """
    if max(input_length, max_length) > backbone.max_sequence_length:
        raise ValueError(
            f"`input_length`={input_length} and `max_length`={max_length} must not exceed the "
            f"backbone's `max_sequence_length`={backbone.max_sequence_length}."
        )
    options = {key: tokenizer_options[key] for key in ("lowercase", "strip_accents") if key in tokenizer_options}
    tokenizer = WordPieceTokenizer(load_vocabulary(vocabulary_path), **options)
    decoding = {
        "input_length": input_length,
        "num_beams": num_beams,
        "max_length": max_length,
        "length_penalty": length_penalty,
    }
    module = _Seq2SeqModule(backbone, tokenizer, vocabulary_path, decoding)
    with atomic_directory(output_dir) as staging:
        tf.saved_model.save(module, staging, signatures={"serving_default": module.generate})
        config = {
            "backbone_class": type(backbone).__name__,
            "backbone": backbone.get_config(),
            "tokenizer": {"vocabulary": "assets/vocab.txt", **options},
            "decoding": decoding,
        }
        os.makedirs(os.path.join(staging, "assets.extra"), exist_ok=True)
        with open(os.path.join(staging, "assets.extra", "config.json"), "w", encoding="utf-8") as file:
            json.dump(config, file, indent=2, default=str)
    return output_dir


def sentinel_lookup(tokenizer):
    """Table from the text `[unusedK]` to its id (-1 for any other string)."""
    present = [token for token in tokenizer.vocabulary if re.fullmatch(SENTINEL_PATTERN, token)]
    ids = [tokenizer.token_to_id(token) for token in present] or [-1]
    keys = present or ["[unused-none]"]
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(keys), tf.constant(ids, tf.int32)), default_value=-1
    )


def encode_text(tokenizer, sentinels, text, input_length):
    """Strings `[B]` -> `(token_ids, padding_mask)` int32 `[B, input_length]`.

    `[unusedK]` in the text becomes the sentinel id; the rest is WordPiece.
    """
    segments = tf_text.regex_split(text, SENTINEL_PATTERN, keep_delim_regex_pattern=SENTINEL_PATTERN)  # [B, S]
    flat = segments.flat_values  # (N,)
    sentinel_id = sentinels.lookup(flat)  # (N,)
    is_sentinel = sentinel_id >= 0
    pieces = tokenizer.tokenize_flat(flat)  # (N, P) ragged
    keep = pieces.with_flat_values(tf.repeat(~is_sentinel, pieces.row_lengths()))
    words = tf.ragged.boolean_mask(pieces, keep)  # sentinel rows emptied
    sentinel_rows = tf.ragged.boolean_mask(sentinel_id[:, None], is_sentinel[:, None])  # (N, 0 or 1)
    merged = tf.concat([sentinel_rows, words], axis=1)  # (N, P')
    ids = tf.RaggedTensor.from_row_splits(merged, segments.row_splits).merge_dims(1, 2)  # (B, L)
    ids = ids[:, : input_length - 1]
    end = tf.fill([ids.nrows(), 1], tf.constant(SEP_ID, ids.dtype))
    ids = tf.concat([ids, end], axis=1)
    token_ids, padding_mask = tf_text.pad_model_inputs(ids, input_length)
    return tf.cast(token_ids, tf.int32), tf.cast(padding_mask, tf.int32)


class _Seq2SeqModule(SavedModelRoot):
    """The SavedModel root: the backbone, the tokenizer and the `generate` signature."""

    def __init__(self, backbone, tokenizer, vocabulary_path, decoding):
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.sentinels = sentinel_lookup(tokenizer)
        self.vocabulary_file = tf.saved_model.Asset(vocabulary_path)
        self.variables = [variable.value for variable in backbone.variables]
        self.input_length = decoding["input_length"]
        self.num_beams = decoding["num_beams"]
        self.max_length = decoding["max_length"]
        self.length_penalty = decoding["length_penalty"]
        self.generate = tf.function(
            self._generate, input_signature=[tf.TensorSpec([None], tf.string, name="text")]
        )

    def _generate(self, text):
        token_ids, padding_mask = encode_text(self.tokenizer, self.sentinels, text, self.input_length)
        tokens = decode(
            self.backbone,
            token_ids,
            padding_mask,
            self.max_length,
            num_beams=self.num_beams,
            length_penalty=self.length_penalty,
        )
        return {"output_text": self.tokenizer.detokenize(trim(tokens)), "output_ids": tokens}
