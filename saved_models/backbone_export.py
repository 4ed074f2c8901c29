"""Export a pretrained backbone as a SavedModel that any TensorFlow project fine-tunes.

The SavedModel needs only `tensorflow` and `tensorflow_text` to load; it does
not import this project. It holds:

- `serving_default` / `encode(inputs)`: the backbone in inference mode. Inputs
  are int32 [B, T] tensors named as the backbone's inputs (`token_ids`,
  `segment_ids`, `padding_mask` for BERT; `token_ids`, `padding_mask` for GPT);
  outputs `sequence_output` [B, T, H] (and `pooled_output` [B, H] for BERT).
- `encode_training(inputs)`: the same with dropout on, for fine-tuning.
- `preprocess(text)`: raw strings [B] -> those inputs at `seq_length`
  (WordPiece in the graph, `[CLS] text [SEP]` for BERT); `preprocess_pair(
  text_a, text_b)` packs pairs (BERT only).
- `variables`, `trainable_variables`; `assets/vocab.txt`;
  `assets.extra/config.json` (backbone config, tokenizer options, seq_length).

Fine-tuning it from another project with Keras 3 and AdamW. `keras.layers.
TFSMLayer(path, trainable=True)` names its weights after the restored
`tf.Variable`s, which always end in ':0', and Keras 3.15 optimizers then fail
("'..:0_momentum' is not a valid scope name"). Wrap the restored variables in
Keras variables with clean names instead; this layer is all it takes:

    import keras, tensorflow as tf, tensorflow_text  # noqa: F401 (registers ops)

    class SavedModelBackbone(keras.layers.Layer):
        def __init__(self, path, **kwargs):
            super().__init__(**kwargs)
            self.saved = tf.saved_model.load(path)
            # keras.Variable wraps (does not copy) each restored tf.Variable.
            self.saved_weights = [
                keras.Variable(v, name=v.name.split(":")[0].replace("/", "_"),
                               trainable=v.trainable)
                for v in self.saved.variables]

        def call(self, inputs, training=False):
            encode = self.saved.encode_training if training else self.saved.encode
            return encode(inputs)

`TFSMLayer(path, call_endpoint="encode")` remains fine for frozen features.
"""

import json
import os

import tensorflow as tf

from pretrain.atomic_files import atomic_directory
from pretrain.text.tokenizer import WordPieceTokenizer, load_vocabulary
from saved_models.saved_model_root import SavedModelRoot
from tasks.text_preprocessor import TextPreprocessor

TOKENIZER_OPTIONS = ("lowercase", "strip_accents")


def export_backbone(backbone, output_dir, vocabulary_path, tokenizer_options, seq_length=128, pooler_trained=False):
    """Writes the backbone SavedModel described in this module to `output_dir`.

    Args:
        backbone: a `layers.BertEncoder` or `layers.GptDecoder` (any functional
            Keras model with a dict of int [B, T] inputs works).
        output_dir: str. Directory to write; replaced whole at the end (`pretrain.atomic_files`).
        vocabulary_path: str. The WordPiece `vocab.txt` of the backbone.
        tokenizer_options: dict with `lowercase` and `strip_accents` (other
            keys, e.g. the output directory's `vocabulary`, are ignored).
        seq_length: int. Length `preprocess` pads and truncates to.
        pooler_trained: bool. Whether pretraining trained the `[CLS]` pooler
            (next-sentence prediction); fine-tuning pools the mean of the token
            outputs otherwise. Defaults to False.

    Returns:
        `output_dir`.
    """
    options = {key: tokenizer_options[key] for key in TOKENIZER_OPTIONS if key in tokenizer_options}
    tokenizer = WordPieceTokenizer(load_vocabulary(vocabulary_path), **options)
    module = _BackboneModule(backbone, tokenizer, seq_length, vocabulary_path)
    signatures = {"serving_default": module.encode, "preprocess": module.preprocess}
    if module.has_segments:
        signatures["preprocess_pair"] = module.preprocess_pair
    with atomic_directory(output_dir) as staging:
        tf.saved_model.save(module, staging, signatures=signatures)
        config = {
            "backbone_class": type(backbone).__name__,
            "backbone": backbone.get_config(),
            "tokenizer": {"vocabulary": "assets/vocab.txt", **options},
            "seq_length": seq_length,
            "input_names": sorted(module.input_names),
            "pooler_trained": pooler_trained,
        }
        os.makedirs(os.path.join(staging, "assets.extra"), exist_ok=True)
        with open(os.path.join(staging, "assets.extra", "config.json"), "w", encoding="utf-8") as file:
            json.dump(config, file, indent=2, default=str)
    return output_dir


def backbone_input_signature(backbone):
    """{input name: tf.TensorSpec([None, None], dtype)} of a functional backbone."""
    inputs = backbone.input
    if not isinstance(inputs, dict):
        raise ValueError(f"backbone {backbone.name!r}: expected a dict of named inputs, got {type(inputs)}.")
    return {name: tf.TensorSpec([None, None], tf.int32, name=name) for name in inputs}


def cast_to_backbone_inputs(backbone, inputs):
    """Casts int32 serving inputs to the dtypes the backbone declares."""
    return {name: tf.cast(inputs[name], tensor.dtype) for name, tensor in backbone.input.items()}


class _BackboneModule(SavedModelRoot):
    """What the SavedModel root holds (`variables` and `trainable_variables` are plain attributes, as TF Hub
    modules have)."""

    def __init__(self, backbone, tokenizer, seq_length, vocabulary_path):
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.vocabulary_file = tf.saved_model.Asset(vocabulary_path)
        self.variables = [variable.value for variable in backbone.variables]
        self.trainable_variables = [variable.value for variable in backbone.trainable_variables]
        spec = backbone_input_signature(backbone)
        self.input_names = list(spec)
        self.has_segments = "segment_ids" in spec
        self.text_preprocessor = TextPreprocessor(tokenizer, seq_length) if self.has_segments else None
        self.seq_length = seq_length
        self.encode = tf.function(self._encode_inference, input_signature=[spec])
        self.encode_training = tf.function(self._encode_training, input_signature=[spec])
        text = tf.TensorSpec([None], tf.string, name="text")
        self.preprocess = tf.function(self._preprocess, input_signature=[text])
        if self.has_segments:
            pair = [tf.TensorSpec([None], tf.string, name="text_a"), tf.TensorSpec([None], tf.string, name="text_b")]
            self.preprocess_pair = tf.function(self._preprocess_pair, input_signature=pair)

    def _encode_inference(self, inputs):
        return self._outputs(self.backbone(cast_to_backbone_inputs(self.backbone, inputs), training=False))

    def _encode_training(self, inputs):
        return self._outputs(self.backbone(cast_to_backbone_inputs(self.backbone, inputs), training=True))

    def _outputs(self, outputs):
        if not isinstance(outputs, dict):
            outputs = {"sequence_output": outputs}
        return {name: tf.cast(value, tf.float32) for name, value in outputs.items()}

    def _preprocess(self, text):
        if self.has_segments:
            return self.text_preprocessor(text)
        pieces = tf.cast(self.tokenizer.tokenize_flat(text)[:, : self.seq_length], tf.int32)
        shape = tf.stack([tf.shape(text)[0], self.seq_length])
        return {
            "token_ids": pieces.to_tensor(default_value=0, shape=shape),
            "padding_mask": tf.ones_like(pieces).to_tensor(default_value=0, shape=shape),
        }

    def _preprocess_pair(self, text_a, text_b):
        return self.text_preprocessor(text_a, text_b)
