"""Continued pretraining: a run that starts from the weights of an earlier run (`--init-from DIR`).

Domain- and task-adaptive pretraining (Gururangan et al. 2020, "Don't Stop
Pretraining") take a model pretrained on general text and train it further,
with the same objective, on text of the target domain. The new run keeps the
earlier run's vocabulary, tokenizer options and backbone config (so every id
and every weight still means the same thing) and copies all of its weights,
the pretraining heads included; the optimizer, its warmup and decay, the
data and the objective options are the new run's own.

Example (after `pretrain bert --corpus wiki.xml.bz2 ... --output runs/wiki`):

    pretrain bert --corpus reviews.txt --corpus-format prose --init-from runs/wiki \\
        --steps 1000 --no-nsp --masking whole-word --output runs/wiki_then_reviews
"""

from pretrain.errors import UsageError
from pretrain.objectives.pretrained import read_run
from pretrain.text.tokenizer import load_vocabulary


def continue_from(config, vocab_file):
    """`(config, vocab_file)` of a run that continues the run `config.training.init_from`.

    The config takes the source run's vocabulary size, tokenizer options, preset and backbone
    (`continued_config`); the vocabulary is the source run's (`vocab_file`, if given, must equal it).
    """
    init_from = config.training.init_from
    source_config, source_vocabulary = read_run(init_from)
    config = continued_config(config, source_config)
    if vocab_file is not None and load_vocabulary(vocab_file) != load_vocabulary(source_vocabulary):
        raise UsageError(f"--vocab {vocab_file} differs from the vocabulary of --init-from {init_from}; drop --vocab")
    return config, source_vocabulary


def continued_config(config, source_config):
    """`config` with the vocabulary size, tokenizer options, preset and backbone (ALiBi or not) of `source_config`.

    Args:
        config: `PretrainConfig` of the new run.
        source_config: `PretrainConfig` of the run it continues.
    """
    if source_config.model != config.model:
        raise UsageError(
            f"--init-from {config.training.init_from} is a {source_config.model} run; continue it with "
            f"`pretrain {source_config.model}`"
        )
    tokenizer = config.tokenizer.replace(
        vocabulary_size=source_config.tokenizer.vocabulary_size,
        lowercase=source_config.tokenizer.lowercase,
        strip_accents=source_config.tokenizer.strip_accents,
    )
    return config.replace(
        tokenizer=tokenizer, preset=source_config.preset, backbone=source_config.backbone,
        **source_config.backbone_options(),
    )


def copy_pretrained_weights(source_model, model):
    """Assigns to every variable of `model` the variable of `source_model` at the same path.

    Every backbone variable must be found with the same shape; a head that the
    source lacks (e.g. next-sentence prediction added by the new run) keeps
    its fresh initialisation.

    Returns:
        int. The number of variables copied.
    """
    source = {variable.path: variable for variable in source_model.weights}
    backbone_paths = {variable.path for variable in model.backbone.weights}
    copied = 0
    for variable in model.weights:
        match = source.get(variable.path)
        if match is None:
            if variable.path in backbone_paths:
                raise UsageError(f"--init-from: the source model has no variable {variable.path}")
            continue
        if tuple(match.shape) != tuple(variable.shape):
            raise UsageError(
                f"--init-from: {variable.path} has shape {tuple(match.shape)} in the source model, "
                f"{tuple(variable.shape)} here"
            )
        variable.assign(match)
        copied += 1
    return copied
