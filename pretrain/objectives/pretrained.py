"""Load what `pretrain bert|electra|gpt` wrote: backbone, config and tokenizer.

`load_pretrained(model_dir)` reads an output directory (its layout is in
`pretrain.runs.pretrain_run`) and returns a `Pretrained` with the trained backbone (`BertEncoder` or
`GptDecoder`) and the whole pretraining model it sits in, the run's
`PretrainConfig`, the path of `vocab.txt` and a matching `WordPieceTokenizer`.
A finished run is loaded from `model.keras`; a run that was interrupted is
loaded from its latest checkpoint. `read_run(model_dir)` reads only the config
and the vocabulary path, without loading the model.

Example (after `pretrain bert --corpus ... --output runs/bert`):

    pretrained = load_pretrained("runs/bert")
    token_ids = pretrained.tokenizer().tokenize_flat(["A sentence."])
    encoder = pretrained.backbone
"""

import dataclasses
import os

import keras

from pretrain.errors import UsageError
from pretrain.objectives.bert_pretrainer import BertPretrainer
from pretrain.objectives.electra_pretrainer import ElectraPretrainer
from pretrain.objectives.gpt_pretrainer import GptPretrainer
from pretrain.objectives.objective import objective_of
from pretrain.text.tokenizer import WordPieceTokenizer, load_vocabulary
from pretrain.training.checkpoints import latest_checkpoint, restore_weights
from pretrain.training.pretrain_config import PretrainConfig

# The classes a `model.keras` of `pretrain bert|electra|gpt` may hold, passed to Keras by name.
PRETRAINER_CLASSES = {cls.__name__: cls for cls in (BertPretrainer, ElectraPretrainer, GptPretrainer)}


@dataclasses.dataclass
class Pretrained:
    """A pretrained backbone with its config and vocabulary.

    Attributes:
        backbone: keras.Model. The trained encoder/decoder (layer name "backbone").
        config: PretrainConfig. The configuration the run was trained with (`BertPretrainConfig`,
            `ElectraPretrainConfig` or `GptPretrainConfig`).
        vocabulary_path: str. The run's `vocab.txt`.
        model_dir: str. The output directory it was loaded from.
        model: keras.Model. The whole pretraining model: the backbone and
            its pretraining heads (masked-LM, next-sentence or LM head).
    """

    backbone: keras.Model
    config: PretrainConfig
    vocabulary_path: str
    model_dir: str
    model: keras.Model

    def tokenizer(self):
        """The `WordPieceTokenizer` the backbone was trained with."""
        return WordPieceTokenizer(
            load_vocabulary(self.vocabulary_path),
            lowercase=self.config.tokenizer.lowercase,
            strip_accents=self.config.tokenizer.strip_accents,
        )


def load_pretrained(model_dir):
    """Loads the output directory of a pretraining run (finished or interrupted)."""
    config, vocabulary_path = read_run(model_dir)
    model_path = os.path.join(model_dir, "model.keras")
    if os.path.isfile(model_path):
        model = _load_model(model_path)
    else:
        model = _restore_latest_checkpoint(config, model_dir)
    return Pretrained(_backbone_of(model), config, vocabulary_path, model_dir, model)


def read_run(model_dir):
    """The `PretrainConfig` and the vocabulary path of a pretraining output directory."""
    config_path = os.path.join(model_dir, "config.json")
    if not os.path.isfile(config_path):
        raise UsageError(
            f"{model_dir} is not a pretraining output directory (no config.json); "
            "pass the --output directory of `pretrain bert`, `pretrain electra` or `pretrain gpt`"
        )
    config = PretrainConfig.load(config_path)
    vocabulary_path = os.path.join(model_dir, config.tokenizer.vocabulary)
    if not os.path.isfile(vocabulary_path):
        raise UsageError(f"{model_dir} has no {config.tokenizer.vocabulary}")
    return config, vocabulary_path


def _load_model(model_path):
    return keras.models.load_model(model_path, compile=False, custom_objects=PRETRAINER_CLASSES)


def build_pretrainer(config, backbone, name=None):
    """The pretraining model of `config` around `backbone`, uncompiled.

    `config` is a `BertPretrainConfig`, `ElectraPretrainConfig` or `GptPretrainConfig`.
    """
    return objective_of(config).pretrainer(config, backbone, name)


def _restore_latest_checkpoint(config, model_dir):
    checkpoint_dir = os.path.join(model_dir, "checkpoints")
    if latest_checkpoint(checkpoint_dir) is None or config.backbone is None:
        raise UsageError(
            f"{model_dir} has neither model.keras nor a checkpoint; the run has not trained yet"
        )
    backbone = objective_of(config).backbone_class.from_config(dict(config.backbone, dtype=None))
    model = build_pretrainer(config, backbone)
    restore_weights(model, checkpoint_dir)
    return model


def _backbone_of(model):
    """The backbone of a pretraining model: our pretrainers keep it as `.backbone`
    (a UniLM pretrainer calls its layers, not it); any other model in that layout
    holds it as the sub-layer named "backbone"."""
    if hasattr(model, "backbone"):
        return model.backbone
    return model.get_layer("backbone")

