"""Tiny `pretrain` output dirs built from a random backbone (the `bert_pretrained`/`gpt_pretrained` fixtures)."""

import os

import keras

from layers import BertEncoder, GptDecoder
from pretrain.text.tokenizer import save_vocabulary, train_vocabulary
from pretrain.training.pretrain_config import config_class
from saved_models.backbone_export import export_backbone

TINY_SIZE = dict(num_layers=2, num_heads=2, hidden_dim=32, intermediate_dim=64, max_sequence_length=64)
TOKENIZER_OPTIONS = {"vocabulary": "vocab.txt", "lowercase": True, "strip_accents": True}
TRAINING_TEXTS = [
    "a wonderful film with a great cast",
    "great acting and a moving story",
    "a dull and boring mess",
    "the plot is weak and the film is boring",
    "the history of the city goes back centuries",
    "the government of the country changed",
]


def lee_documents(lee_corpus_path):
    with open(lee_corpus_path, encoding="utf-8") as file:
        return [[line.strip()] for line in file if line.strip()] + [[text] for text in TRAINING_TEXTS]


def make_pretrained_dir(output_dir, lee_corpus_path, model="bert", vocab_size=600, seed=0):
    """Writes vocab.txt, config.json, model.keras (backbone as sub-layer "backbone") and backbone/."""
    keras.utils.set_random_seed(seed)
    os.makedirs(output_dir, exist_ok=True)
    vocabulary_path = os.path.join(output_dir, "vocab.txt")
    vocabulary = train_vocabulary(lee_documents(lee_corpus_path), vocab_size)
    save_vocabulary(vocabulary, vocabulary_path)
    backbone_class = BertEncoder if model == "bert" else GptDecoder
    backbone = backbone_class(vocabulary_size=len(vocabulary), dropout=0.0, name="backbone", **TINY_SIZE)
    wrapper = keras.Model(backbone.input, backbone(backbone.input), name=f"{model}_pretrainer")
    wrapper.save(os.path.join(output_dir, "model.keras"))
    config = config_class(model)(backbone=backbone.get_config())
    config.save(os.path.join(output_dir, "config.json"))
    export_backbone(backbone, os.path.join(output_dir, "backbone"), vocabulary_path, TOKENIZER_OPTIONS, seq_length=16)
    return output_dir, backbone
