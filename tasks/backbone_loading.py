"""Load a pretrained backbone and its tokenizer from a `pretrain` output dir or a backbone SavedModel."""

import dataclasses
import json
import os

from pretrain.errors import UsageError
from pretrain.objectives.pretrained import load_pretrained
from pretrain.text.tokenizer import WordPieceTokenizer
from tasks.saved_model_backbone import SavedModelBackbone


@dataclasses.dataclass
class LoadedBackbone:
    """A backbone ready to put under a task head."""

    backbone: object  # layers.BertEncoder / GptDecoder, or tasks.SavedModelBackbone
    tokenizer: WordPieceTokenizer
    model_type: str  # "bert" or "gpt"
    input_names: list
    hidden_dim: int
    max_sequence_length: int
    pooler_trained: bool  # next-sentence prediction trained the [CLS] pooler; False when unknown


def load_backbone(model_path):
    """Reads `model_path`: a `pretrain` output dir (`pretrain.runs.pretrain_run`'s layout) or a SavedModel
    written by `saved_models.backbone_export.export_backbone`."""
    if not os.path.isdir(model_path):
        raise UsageError(f"--model {model_path}: no such directory; pass a pretrain output dir or a backbone SavedModel.")
    if os.path.exists(os.path.join(model_path, "saved_model.pb")):
        return _load_saved_model(model_path)
    if os.path.exists(os.path.join(model_path, "config.json")):
        return _load_pretrain_output(model_path)
    raise UsageError(
        f"--model {model_path}: neither a pretrain output dir (config.json) nor a SavedModel (saved_model.pb)."
    )


def _load_pretrain_output(model_dir):
    pretrained = load_pretrained(model_dir)
    backbone = pretrained.backbone
    config = pretrained.config
    return LoadedBackbone(
        backbone, pretrained.tokenizer(), "bert" if config.encoder else "gpt", sorted(backbone.input),
        backbone.hidden_dim,
        backbone.max_sequence_length, pooler_trained=config.pooler_trained,
    )


def _load_saved_model(path):
    config_path = os.path.join(path, "assets.extra", "config.json")
    if not os.path.exists(config_path):
        raise UsageError(f"--model {path}: a SavedModel without assets.extra/config.json; export it with `pretrain export`.")
    with open(config_path, encoding="utf-8") as file:
        config = json.load(file)
    options = {key: config["tokenizer"][key] for key in ("lowercase", "strip_accents")}
    tokenizer = WordPieceTokenizer(os.path.join(path, "assets", "vocab.txt"), **options)
    backbone = SavedModelBackbone(path, name="backbone")
    model_type = "bert" if "segment_ids" in backbone.input_names else "gpt"
    sizes = config["backbone"]
    return LoadedBackbone(
        backbone, tokenizer, model_type, backbone.input_names, sizes["hidden_dim"], sizes["max_sequence_length"],
        pooler_trained=bool(config.get("pooler_trained", False)),
    )
