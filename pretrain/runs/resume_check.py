"""Whether a run may resume in an output directory with the config it is given now; every objective uses it.

A run resumes only with the options it started with, except those that do
not change the model or its data: `training.steps` (train longer; the warmup
keeps its length in updates, `resumed_schedule`) and how the run is
distributed, checkpointed and evaluated (and how seq2seq's export decodes).
Anything else is refused with the differences named.

Example:

>>> from pretrain.training.pretrain_config import GptPretrainConfig
>>> started = GptPretrainConfig().to_dict()
>>> longer = GptPretrainConfig().replace(training=GptPretrainConfig().training.replace(steps=2000))
>>> resumable_config(longer, started, "runs/gpt", "pass --config runs/gpt/config.json").training.steps
2000
"""

import logging

from pretrain.errors import UsageError
from pretrain.training.optimizer import resumed_schedule, warmup_updates
from pretrain.training.pretrain_config import TrainingConfig

logger = logging.getLogger(__name__)

# What a resumed run may change: none of it changes the model or the batches it trains on.
MAY_CHANGE = frozenset({
    "backbone",
    "training.steps",
    "training.warmup_fraction",
    "training.strategy",
    "training.checkpoint_every",
    "training.keep_checkpoints",
    "training.eval_batches",
    # How `pretrain seq2seq`'s serving SavedModel decodes: it is exported after training.
    "decoding.num_beams",
    "decoding.max_length",
    "decoding.length_penalty",
})


def resumable_config(config, saved, output_dir, how_to_resume):
    """The config to resume the run in `output_dir` with; a `UsageError` if it was started with another one.

    Args:
        config: the run's config now (a `RunConfig` dataclass).
        saved: dict. The `to_dict()` of the config the run started with (its `config.json`).
        output_dir: str. The run's directory, named in the error.
        how_to_resume: str. The remedy the error offers beside choosing a new `--output`.
    """
    training = resumed_schedule(config.training, TrainingConfig(**saved["training"]))
    if training is not config.training:
        logger.info(f"the run keeps its warmup of {warmup_updates(training)} updates; the decay now ends at "
                    f"update {training.steps}")
    config = config.replace(training=training)
    old, new = _flatten(saved), _flatten(config.to_dict())
    differences = [
        f"{key}: {old.get(key)!r} in the checkpoint, {new.get(key)!r} now"
        for key in sorted(set(old) | set(new))
        if key not in MAY_CHANGE and old.get(key) != new.get(key)
    ]
    if differences:
        raise UsageError(
            f"{output_dir} holds a run started with a different configuration ("
            + "; ".join(differences)
            + f"). To resume, {how_to_resume} (only --steps may change); to start afresh, choose a new --output"
        )
    return config


def _flatten(config, prefix=""):
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict) and key != "backbone":
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = list(value) if isinstance(value, tuple) else value
    return flat
