"""Fine-tune a pretrained backbone on labelled text: the steps the CLI, the demo and the benchmark share."""

import dataclasses
import json
import logging
import math
import os

import keras

from pretrain.errors import UsageError
from pretrain.training.optimizer import WarmupLinearDecay, variables_without_weight_decay
from tasks.backbone_loading import LoadedBackbone, load_backbone
from tasks.finetune_defaults import BackboneFacts, fill_unset, token_counts_of
from tasks.focal_loss import SparseFocalLoss
from tasks.layerwise_decay import LayerwiseDecayAdamW, layerwise_multipliers
from tasks.tagging_preprocessor import TaggingPreprocessor
from tasks.text_classifier import TextClassifier
from tasks.text_preprocessor import TextPreprocessor
from tasks.token_classifier import TokenClassifier

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class FinetuneConfig:
    """Fine-tuning settings; saved as `finetune.json` beside the model.

    Fields left None are chosen from the backbone and the training data by
    `finetune_setup` (the rule of `tasks.finetune_defaults`).
    """

    epochs: int = None
    batch_size: int = 32
    seq_length: int = None
    learning_rate: float = None  # BERT-base: 5e-5, scaled by 768 / hidden_dim
    warmup_fraction: float = None  # linear warmup over this share of the updates, then linear decay to 0
    weight_decay: float = 0.01  # not on LayerNorm parameters and biases
    clip_norm: float = 1.0  # global gradient norm, as google-research/bert
    dropout: float = 0.1
    freeze_backbone: bool = False  # train the head only
    layer_decay: float = 1.0  # < 1: lower layers learn slower (ELECTRA uses 0.8)
    focal_gamma: float = 0.0  # 0: softmax cross-entropy; > 0: focal loss
    seed: int = 0
    text_pairs: bool = False  # classify: the inputs are pairs of texts
    pooling: str = None  # classify: "cls" ([CLS] pooler) or "mean" (mean of the token outputs)

    def unset(self):
        """Names of the fields still None."""
        return [field.name for field in dataclasses.fields(self) if getattr(self, field.name) is None]

    def total_steps(self, train_examples):
        """Optimizer updates in `epochs` passes over `train_examples` examples."""
        return self.epochs * math.ceil(train_examples / self.batch_size)

    def save(self, path):
        with open(path, "w", encoding="utf-8") as file:
            json.dump(dataclasses.asdict(self), file, indent=2)


def finetune_setup(model_path, config, train_texts, train_pairs=None):
    """Loads the backbone in `model_path` and fills the unset fields of `config` from it and the data.

    Returns:
        `(LoadedBackbone, FinetuneConfig)`; the second has no None field.
    """
    loaded = load_backbone(model_path)
    facts = BackboneFacts(loaded.hidden_dim, loaded.max_sequence_length, loaded.pooler_trained)
    counts = token_counts_of(loaded.tokenizer, train_texts, train_pairs) if config.seq_length is None else ()
    config, filled = fill_unset(config, facts, len(train_texts), counts)
    if filled:
        logger.info("fine-tuning settings chosen for this backbone and data: %s",
                    ", ".join(f"{name}={getattr(config, name)}" for name in filled))
    return loaded, config


def build_classifier(model, label_names, config, train_examples):
    """A compiled `TextClassifier` over `model`: a `LoadedBackbone` (from `finetune_setup`) or a model path.

    `config` must have every field set (see `finetune_setup`).
    `train_examples` (the size of the training set) sets the length of the
    learning-rate schedule: warmup then linear decay to zero at the last update.
    """
    loaded = _loaded(model, config)
    if config.pooling is None:
        raise ValueError("FinetuneConfig.pooling is unset: fill it with finetune_setup().")
    keras.utils.set_random_seed(config.seed)
    if loaded.model_type != "bert":
        raise UsageError(f"--model: classification needs a BERT backbone, this one is {loaded.model_type}.")
    preprocessor = TextPreprocessor(loaded.tokenizer, config.seq_length)
    classifier = TextClassifier(
        loaded.backbone, len(label_names), preprocessor=preprocessor, label_names=label_names,
        dropout=config.dropout, pooling=config.pooling,
    )
    loss = SparseFocalLoss(gamma=config.focal_gamma) if config.focal_gamma > 0 else None
    classifier.compile_for_task(optimizer=fine_tuning_optimizer(classifier, config, train_examples), loss=loss)
    return classifier


def build_tagger(model_path, tag_names, config, train_examples):
    """A compiled `TokenClassifier` over `model_path` (or a `LoadedBackbone`); arguments as `build_classifier`."""
    loaded = _loaded(model_path, config)
    keras.utils.set_random_seed(config.seed)
    if loaded.model_type != "bert":
        raise UsageError(f"--model {model_path}: tagging needs a BERT backbone, this one is {loaded.model_type}.")
    preprocessor = TaggingPreprocessor(loaded.tokenizer, config.seq_length)
    tagger = TokenClassifier(loaded.backbone, len(tag_names), preprocessor, tag_names, dropout=config.dropout)
    tagger.compile_for_task(optimizer=fine_tuning_optimizer(tagger, config, train_examples))
    return tagger


def reinitialise_backbone(classifier, seed):
    """Gives `classifier`'s backbone fresh random weights (seeded): the same architecture from random initialisation."""
    keras.utils.set_random_seed(seed)
    backbone = classifier.backbone
    backbone.set_weights(type(backbone).from_config(backbone.get_config()).get_weights())


def _loaded(model, config):
    unset = [name for name in config.unset() if name != "pooling"]
    if unset:
        raise ValueError(f"FinetuneConfig fields {unset} are unset: fill them with finetune_setup().")
    return model if isinstance(model, LoadedBackbone) else load_backbone(model)


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
