"""Export a GPT decoder as a SavedModel: prompts in, generated text out.

`serving_default` takes `prompts` string [B] and returns `generated_text`
string [B] (the continuation of each prompt, up to `[SEP]` or
`max_length`). Tokenization, the decoding loop with the key/value cache and
detokenization all run in the graph, with the decoding settings fixed at export
(`GenerationConfig`, also written to `assets.extra/generation.json`).

    curl -d '{"instances": [{"prompts": "the history of"}]}' \\
        http://localhost:8501/v1/models/gpt:predict
"""

import dataclasses
import json
import os

import tensorflow as tf

from pretrain.atomic_files import atomic_directory
from saved_models.saved_model_root import SavedModelRoot
from tasks.gpt_generator import GptGenerator


def export_gpt_serving(decoder, tokenizer, output_dir, generation_config):
    """Writes the text-generation SavedModel.

    Args:
        decoder: a `layers.GptDecoder`.
        tokenizer: its `pretrain.text.tokenizer.WordPieceTokenizer`.
        output_dir: str. Directory to write; replaced whole at the end (`pretrain.atomic_files`).
        generation_config: a `tasks.generation.GenerationConfig`.

    Returns:
        `output_dir`.
    """
    module = _GptServing(GptGenerator(decoder, tokenizer, generation_config))
    with atomic_directory(output_dir) as staging:
        tf.saved_model.save(module, staging, signatures={"serving_default": module.generate})
        os.makedirs(os.path.join(staging, "assets.extra"), exist_ok=True)
        with open(os.path.join(staging, "assets.extra", "generation.json"), "w", encoding="utf-8") as file:
            json.dump(dataclasses.asdict(generation_config), file, indent=2)
    return output_dir


class _GptServing(SavedModelRoot):
    """The SavedModel root: decoder variables, tokenizer, the generate function."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator
        self.tokenizer = generator.tokenizer
        self.variables = [variable.value for variable in generator.decoder.variables]
        prompts = tf.TensorSpec([None], tf.string, name="prompts")
        self.generate = tf.function(self._generate, input_signature=[prompts])

    def _generate(self, prompts):
        return {"generated_text": self.generator(prompts)}
