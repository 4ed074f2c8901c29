"""Fine-tune a pretrained backbone on labelled text: the steps the CLI, the demo and the benchmark share."""

import dataclasses
import json
import math
import os

import keras

from pretrain.errors import UsageError
from pretrain.optimizer import WarmupLinearDecay, variables_without_weight_decay
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
    warmup_fraction: float = 0.1  # linear warmup over this share of the updates, then linear decay to 0
    weight_decay: float = 0.01  # not on LayerNorm parameters and biases
    clip_norm: float = 1.0  # global gradient norm, as google-research/bert
    dropout: float = 0.1
    freeze_backbone: bool = False  # train the head only
    layer_decay: float = 1.0  # < 1: lower layers learn slower (ELECTRA uses 0.8)
    focal_gamma: float = 0.0  # 0: softmax cross-entropy; > 0: focal loss
    seed: int = 0
    text_pairs: bool = False  # classify: the inputs are pairs of texts
    pooling: str = "cls"  # classify: "cls" ([CLS] pooler) or "mean" (mean of the token outputs)

    def total_steps(self, train_examples):
        """Optimizer updates in `epochs` passes over `train_examples` examples."""
        return self.epochs * math.ceil(train_examples / self.batch_size)

    def save(self, path):
        with open(path, "w", encoding="utf-8") as file:
            json.dump(dataclasses.asdict(self), file, indent=2)


def build_classifier(model_path, label_names, config, train_examples):
    """A compiled `TextClassifier` over the backbone in `model_path`.

    `train_examples` (the size of the training set) sets the length of the
    learning-rate schedule: warmup then linear decay to zero at the last update.
    """
    keras.utils.set_random_seed(config.seed)
    loaded = load_backbone(model_path)
    if loaded.model_type != "bert":
        raise UsageError(f"--model {model_path}: classification needs a BERT backbone, this one is {loaded.model_type}.")
    preprocessor = TextPreprocessor(loaded.tokenizer, config.seq_length)
    classifier = TextClassifier(
        loaded.backbone, len(label_names), preprocessor=preprocessor, label_names=label_names,
        dropout=config.dropout, pooling=config.pooling,
    )
    loss = SparseFocalLoss(gamma=config.focal_gamma) if config.focal_gamma > 0 else None
    classifier.compile_for_task(optimizer=fine_tuning_optimizer(classifier, config, train_examples), loss=loss)
    return classifier


def build_tagger(model_path, tag_names, config, train_examples):
    """A compiled `TokenClassifier` over the backbone in `model_path`; `train_examples` as `build_classifier`."""
    keras.utils.set_random_seed(config.seed)
    loaded = load_backbone(model_path)
    if loaded.model_type != "bert":
        raise UsageError(f"--model {model_path}: tagging needs a BERT backbone, this one is {loaded.model_type}.")
    preprocessor = TaggingPreprocessor(loaded.tokenizer, config.seq_length)
    tagger = TokenClassifier(loaded.backbone, len(tag_names), preprocessor, tag_names, dropout=config.dropout)
    tagger.compile_for_task(optimizer=fine_tuning_optimizer(tagger, config, train_examples))
    return tagger


def fine_tuning_optimizer(model, config, train_examples):
    """google-research/bert's fine-tuning optimizer for `model` (a task model with a `backbone`).

    AdamW (epsilon 1e-6) whose rate warms up over `config.warmup_fraction` of
    the updates and then falls linearly to zero, no weight decay on LayerNorm
    parameters and biases, the gradient clipped to global norm `clip_norm`.
    With `layer_decay` < 1 lower backbone layers get smaller rates; with
    `freeze_backbone` only the head trains.
    """
    if config.freeze_backbone:
        model.backbone.trainable = False
    total_steps = config.total_steps(train_examples)
    schedule = WarmupLinearDecay(config.learning_rate, int(config.warmup_fraction * total_steps), total_steps)
    arguments = dict(learning_rate=schedule, weight_decay=config.weight_decay, epsilon=1e-6, global_clipnorm=config.clip_norm)
    if config.layer_decay < 1.0:
        optimizer = LayerwiseDecayAdamW(layerwise_multipliers(model.backbone, config.layer_decay), **arguments)
    else:
        optimizer = keras.optimizers.AdamW(**arguments)
    optimizer.exclude_from_weight_decay(var_list=variables_without_weight_decay(model))
    return optimizer


def training_callbacks(output_dir):
    """TensorBoard logs under OUTPUT/logs."""
    return [keras.callbacks.TensorBoard(os.path.join(output_dir, "logs"))] if output_dir else []
