"""Fine-tune a pretrained backbone on labelled text: the steps the CLI, the demo and the benchmark share."""

import dataclasses
import json
import os

import keras

from pretrain.errors import UsageError
from tasks.backbone_loading import load_backbone
from tasks.focal_loss import SparseFocalLoss
from tasks.layerwise_decay import LayerwiseDecayAdamW, layerwise_multipliers
from tasks.tagging_preprocessor import TaggingPreprocessor
from tasks.text_classifier import TextClassifier
from tasks.text_preprocessor import TextPreprocessor
from tasks.token_classifier import TokenClassifier


@dataclasses.dataclass
class FinetuneConfig:
    """Fine-tuning settings; saved as `finetune.json` beside the model."""

    epochs: int = 3
    batch_size: int = 32
    seq_length: int = 128
    learning_rate: float = 5e-5  # BERT paper's range: 2e-5 .. 5e-5
    weight_decay: float = 0.01
    dropout: float = 0.1
    freeze_backbone: bool = False  # train the head only
    layer_decay: float = 1.0  # < 1: lower layers learn slower (ELECTRA uses 0.8)
    focal_gamma: float = 0.0  # 0: softmax cross-entropy; > 0: focal loss
    seed: int = 0
    text_pairs: bool = False  # classify: the inputs are pairs of texts

    def save(self, path):
        with open(path, "w", encoding="utf-8") as file:
            json.dump(dataclasses.asdict(self), file, indent=2)


def build_classifier(model_path, label_names, config):
    """A compiled `TextClassifier` over the backbone in `model_path`."""
    keras.utils.set_random_seed(config.seed)
    loaded = load_backbone(model_path)
    if loaded.model_type != "bert":
        raise UsageError(f"--model {model_path}: classification needs a BERT backbone, this one is {loaded.model_type}.")
    preprocessor = TextPreprocessor(loaded.tokenizer, config.seq_length)
    classifier = TextClassifier(
        loaded.backbone, len(label_names), preprocessor=preprocessor, label_names=label_names, dropout=config.dropout
    )
    loss = SparseFocalLoss(gamma=config.focal_gamma) if config.focal_gamma > 0 else None
    classifier.compile_for_task(optimizer=_optimizer(classifier.backbone, config), loss=loss)
    return classifier


def build_tagger(model_path, tag_names, config):
    """A compiled `TokenClassifier` over the backbone in `model_path`."""
    keras.utils.set_random_seed(config.seed)
    loaded = load_backbone(model_path)
    if loaded.model_type != "bert":
        raise UsageError(f"--model {model_path}: tagging needs a BERT backbone, this one is {loaded.model_type}.")
    preprocessor = TaggingPreprocessor(loaded.tokenizer, config.seq_length)
    tagger = TokenClassifier(loaded.backbone, len(tag_names), preprocessor, tag_names, dropout=config.dropout)
    tagger.compile_for_task(optimizer=_optimizer(tagger.backbone, config))
    return tagger


def _optimizer(backbone, config):
    if config.freeze_backbone:
        backbone.trainable = False
    if config.layer_decay < 1.0:
        multipliers = layerwise_multipliers(backbone, config.layer_decay)
        return LayerwiseDecayAdamW(multipliers, learning_rate=config.learning_rate, weight_decay=config.weight_decay)
    return keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay)


def training_callbacks(output_dir):
    """TensorBoard logs under OUTPUT/logs."""
    return [keras.callbacks.TensorBoard(os.path.join(output_dir, "logs"))] if output_dir else []
