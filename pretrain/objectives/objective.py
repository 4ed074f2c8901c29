"""What `pretrain bert`, `pretrain electra` and `pretrain gpt` do differently, in one place per objective.

The run skeleton (`pretrain.runs.pretrain_run`) is the same for the three; it
asks `objective_of(config)` (`config` a `BertPretrainConfig`,
`ElectraPretrainConfig` or `GptPretrainConfig`) for the backbone class, the
pretraining model, the examples of a corpus file and how a batch of them
becomes Keras `(x, y)`. A new objective of this family adds a config class in
`pretrain.training.pretrain_config`, a pretrainer beside the others and an
entry in `OBJECTIVES`.

Example:

>>> from pretrain.training.pretrain_config import GptPretrainConfig
>>> objective_of(GptPretrainConfig()).backbone_class.__name__
'GptDecoder'
"""

import dataclasses
from typing import Callable

from layers import BertEncoder, GptDecoder
from pretrain.examples.bert_examples import bert_dataset
from pretrain.examples.gpt_examples import gpt_dataset
from pretrain.objectives import bert_pretrainer, electra_pretrainer, gpt_pretrainer


@dataclasses.dataclass(frozen=True)
class Objective:
    """One objective's parts.

    Attributes:
        backbone_class: `BertEncoder` or `GptDecoder`.
        pretrainer: `(config, backbone, name)` -> the uncompiled pretraining model.
        examples: `(config, tokenizer, path, seed, shuffle_buffer, shard_index, num_shards)` -> unbatched
            example features of a lines-format file.
        inputs: `(config, batches, seed)` -> the batches as Keras `(x, y)`.
    """

    backbone_class: type
    pretrainer: Callable
    examples: Callable
    inputs: Callable


def _masked_examples(config, tokenizer, path, seed, shuffle_buffer, shard_index=0, num_shards=1, nsp=False):
    """BERT's examples (ELECTRA's are these without next-sentence pairs)."""
    return bert_dataset(
        path,
        tokenizer,
        seq_length=config.data.seq_length,
        max_predictions=config.data.max_predictions,
        masking=config.data.masking,
        nsp=nsp,
        seed=seed,
        shuffle_buffer=shuffle_buffer,
        shard_index=shard_index,
        num_shards=num_shards,
    )


def _gpt_examples(config, tokenizer, path, seed, shuffle_buffer, shard_index=0, num_shards=1):
    return gpt_dataset(
        path,
        tokenizer,
        seq_length=config.data.seq_length,
        seed=seed,
        shuffle_buffer=shuffle_buffer,
        shard_index=shard_index,
        num_shards=num_shards,
    )


def _bert_examples(config, *args, **kwargs):
    return _masked_examples(config, *args, nsp=config.data.nsp, **kwargs)


def _bert_inputs(config, batches, seed):
    batches = batches.map(bert_pretrainer.features_to_inputs)
    return bert_pretrainer.with_attention_modes(batches, seed) if config.data.unilm else batches


def _bert_pretrainer(config, backbone, name=None):
    return bert_pretrainer.BertPretrainer(backbone, nsp=config.data.nsp, unilm=config.data.unilm, name=name)


def _electra_pretrainer(config, backbone, name=None):
    return electra_pretrainer.ElectraPretrainer(
        backbone,
        generator_layers=config.generator.generator_layers,
        discriminator_weight=config.generator.discriminator_weight,
        seed=config.training.seed,
        name=name,
    )


OBJECTIVES = {
    "bert": Objective(BertEncoder, _bert_pretrainer, _bert_examples, _bert_inputs),
    "electra": Objective(
        BertEncoder,
        _electra_pretrainer,
        _masked_examples,
        lambda config, batches, seed: batches.map(electra_pretrainer.features_to_inputs),
    ),
    "gpt": Objective(
        GptDecoder,
        lambda config, backbone, name=None: gpt_pretrainer.GptPretrainer(backbone, name=name),
        _gpt_examples,
        lambda config, batches, seed: batches.map(gpt_pretrainer.features_to_inputs),
    ),
}


def objective_of(config):
    """The `Objective` of a `BertPretrainConfig`, `ElectraPretrainConfig` or `GptPretrainConfig`."""
    return OBJECTIVES[config.model]
