"""Export a model as a SavedModel for TF Serving or for fine-tuning elsewhere.

  pretrain export --model runs/bert --output runs/bert_backbone        # BERT: backbone SavedModel
  pretrain export --model runs/gpt --output runs/gpt_serving           # GPT: prompts in, text out
  pretrain export --model runs/sentiment --output runs/sentiment_serving  # fine-tuned classifier
  pretrain export --model runs/ner --output runs/ner_serving              # fine-tuned tagger

The kind is read from --model: a `pretrain bert|gpt` output dir, or a
`pretrain finetune classify|tag` output dir (it has finetune.json).
A SavedModel holds TensorFlow graphs, so the export runs on the TensorFlow
backend whatever KERAS_BACKEND says; it reads model.keras or the checkpoints,
which a run on any backend writes.
"""

import json
import os
import sys

from pretrain.errors import UsageError


def add_arguments(parser):
    parser.add_argument("--model", required=True, help="pretrain or finetune output directory")
    parser.add_argument("--output", required=True, help="SavedModel directory to write")
    parser.add_argument("--seq-length", type=int, default=128, help="BERT backbone: length `preprocess` pads to")
    parser.add_argument("--backbone-only", action="store_true", help="GPT: export the backbone, not generation")
    generation = parser.add_argument_group("GPT generation (fixed in the SavedModel)")
    generation.add_argument("--decoding", choices=("greedy", "sample", "beam"), default="greedy",
                            help="decoding: greedy (default), sample (temperature/top-k/top-p) or beam")
    generation.add_argument("--max-length", type=int, default=64, help="prompt + generated tokens")
    generation.add_argument("--temperature", type=float, default=1.0, help="sample: softmax temperature (default 1.0)")
    generation.add_argument("--top-k", type=int, default=0, help="sample: keep the k likeliest tokens; 0 = all")
    generation.add_argument("--top-p", type=float, default=1.0, help="sample: nucleus probability mass; 1.0 = all")
    generation.add_argument("--num-beams", type=int, default=4, help="beam: beam width (default 4)")
    generation.add_argument(
        "--length-penalty", type=float, default=0.0, help="GNMT alpha ranking final beams; 0 = raw score"
    )
    generation.add_argument("--seed", type=int, default=0, help="sample: seed of the stateless sampler")


def run(args):
    use_tensorflow_backend()
    if not os.path.isdir(args.model):
        raise UsageError(f"--model {args.model}: no such directory.")
    if os.path.exists(os.path.join(args.model, "finetune.json")):
        return _export_finetuned(args)
    from pretrain.objectives.pretrained import load_pretrained

    pretrained = load_pretrained(args.model)
    if not pretrained.config.encoder and not args.backbone_only:  # a GPT decoder: it generates
        return _export_generation(args, pretrained)
    from saved_models.backbone_export import export_backbone

    tokenizer = pretrained.config.tokenizer
    options = {"lowercase": tokenizer.lowercase, "strip_accents": tokenizer.strip_accents}
    export_backbone(pretrained.backbone, args.output, pretrained.vocabulary_path, options, seq_length=args.seq_length)
    print(f"wrote backbone SavedModel {args.output} (signatures: serving_default, preprocess)")
    return 0


def use_tensorflow_backend():
    """Has Keras start on TensorFlow (before it is imported), or refuses a process where it runs on another."""
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "tensorflow"
        return
    import keras

    if keras.backend.backend() != "tensorflow":
        raise UsageError(f"pretrain export needs the TensorFlow backend, not {keras.backend.backend()}; "
                         "run it with KERAS_BACKEND=tensorflow")


def _export_generation(args, pretrained):
    from saved_models.gpt_export import export_gpt_serving
    from tasks.generation import GenerationConfig

    try:
        config = GenerationConfig(
            strategy=args.decoding,
            max_length=args.max_length,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            num_beams=args.num_beams,
            length_penalty=args.length_penalty,
            seed=args.seed,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    export_gpt_serving(pretrained.backbone, pretrained.tokenizer(), args.output, config)
    print(f"wrote GPT serving SavedModel {args.output} (serving_default: prompts -> generated_text)")
    return 0


def _export_finetuned(args):
    import keras

    from saved_models.serving_export import export_classifier_serving
    from saved_models.tagger_serving_export import export_tagger_serving
    from tasks.text_classifier import TextClassifier
    from tasks.token_classifier import TokenClassifier

    custom_objects = {"TextClassifier": TextClassifier, "TokenClassifier": TokenClassifier}
    model = keras.saving.load_model(os.path.join(args.model, "model.keras"), custom_objects=custom_objects)
    if isinstance(model, TokenClassifier):
        export_tagger_serving(model, args.output)
        print(f"wrote serving SavedModel {args.output} (serving_default, serve_words, serve_ids)")
        return 0
    if not isinstance(model, TextClassifier):
        raise UsageError(
            f"--model {args.model}: model.keras holds a {type(model).__name__}; "
            "only fine-tuned classifiers and taggers export for serving."
        )
    with open(os.path.join(args.model, "finetune.json"), encoding="utf-8") as file:
        text_pairs = json.load(file).get("text_pairs", False)
    export_classifier_serving(model, args.output, text_pairs=text_pairs)
    print(f"wrote serving SavedModel {args.output} (serving_default, serve_ids, serve_examples)")
    return 0
