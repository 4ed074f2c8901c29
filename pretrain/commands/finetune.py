"""Fine-tune a pretrained BERT on labelled text (classify) or tagged words (tag).

Examples:
  pretrain finetune classify --model runs/bert --train train.csv --test test.csv \
      --text-column text --label-column label --output runs/sentiment
  pretrain finetune tag --model runs/bert --train train.conll --test test.conll --output runs/ner

Writes OUTPUT/model.keras (the Keras task model, tokenizer included),
OUTPUT/finetune.json (the settings, defaults included), OUTPUT/metrics.json (with --test), OUTPUT/logs (TensorBoard) and OUTPUT/serving: a
SavedModel for TF Serving that takes raw strings (classify: texts -> labels;
tag: sentences -> one tag per whitespace-separated word).
"""

import dataclasses
import json
import os

from pretrain.atomic_files import atomic_file
from pretrain.commands.options import add_output_option, add_seed_option, positive_int
from pretrain.errors import UsageError


def add_arguments(parser):
    from tasks.text_classifier import POOLINGS  # loaded by _defaults() below anyway

    tasks = parser.add_subparsers(dest="task", metavar="TASK", required=True)
    classify = tasks.add_parser("classify", help="text or text-pair classification from CSV files")
    _add_common(classify, "CSV file with a header line (.csv, .csv.gz, .csv.bz2)")
    classify.add_argument("--text-column", required=True, help="column holding the text")
    classify.add_argument("--text-pair-column", help="column holding the second text of a pair")
    classify.add_argument("--label-column", required=True, help="column holding the class label")
    classify.add_argument("--focal-gamma", type=float, default=0.0, help="> 0: focal loss instead of cross-entropy")
    classify.add_argument(
        "--pooling", choices=POOLINGS,
        help="sentence feature: the [CLS] pooler, or the mean of the token outputs (default: cls when "
        "next-sentence prediction trained the pooler, else mean)",
    )
    tag = tasks.add_parser("tag", help="token classification (NER, POS) from CoNLL files")
    _add_common(tag, "CoNLL file: 'word ... tag' per line, blank line between sentences")


def _add_common(parser, file_help):
    defaults = _defaults()
    parser.add_argument("--model", required=True, help="pretrain output dir or backbone SavedModel")
    parser.add_argument("--train", required=True, help=f"training data: {file_help}")
    parser.add_argument("--test", help="held-out data in the same format; its accuracy is printed")
    add_output_option(parser, "model.keras, serving/, finetune.json, metrics.json, logs/")
    parser.add_argument(
        "--epochs", type=positive_int,
        help="passes over the training data (default: 3 for BERT-base; smaller backbones enough for 300 "
        "updates, 3 to 10)",
    )
    parser.add_argument("--batch-size", type=positive_int, default=defaults.batch_size,
                        help=f"examples per update (default {defaults.batch_size})")
    parser.add_argument(
        "--seq-length", type=positive_int,
        help="tokens per input (default: enough for 90%% of the training texts, a multiple of 32, at most 256)",
    )
    parser.add_argument(
        "--learning-rate", type=float,
        help="peak learning rate (default: 5e-5 x 768 / the backbone's hidden size: 5e-5 for BERT-base, "
        "3e-4 for tiny)",
    )
    parser.add_argument(
        "--warmup-fraction", type=float,
        help="share of the updates with a rising learning rate; it then falls linearly to 0 (default 0.1)",
    )
    parser.add_argument("--freeze-backbone", action="store_true", help="train the task head only")
    parser.add_argument("--layer-decay", type=float, default=defaults.layer_decay, help="layer-wise LR decay, e.g. 0.8")
    add_seed_option(parser, default=defaults.seed, what="the head, dropout and shuffling")


def _defaults():
    from tasks.finetuning import FinetuneConfig

    return FinetuneConfig()


def run(args):
    from tasks.finetuning import FinetuneConfig

    for name in ("epochs", "batch_size", "seq_length"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}.")
    if args.learning_rate is not None and not args.learning_rate > 0:
        raise UsageError(f"--learning-rate must be > 0, got {args.learning_rate}.")
    if args.warmup_fraction is not None and not 0.0 <= args.warmup_fraction < 1.0:
        raise UsageError(f"--warmup-fraction must be in [0, 1), got {args.warmup_fraction}.")
    config = dataclasses.replace(
        FinetuneConfig(),
        epochs=args.epochs,
        batch_size=args.batch_size,
        seq_length=args.seq_length,
        learning_rate=args.learning_rate,
        warmup_fraction=args.warmup_fraction,
        freeze_backbone=args.freeze_backbone,
        layer_decay=args.layer_decay,
        focal_gamma=getattr(args, "focal_gamma", FinetuneConfig.focal_gamma),
        pooling=getattr(args, "pooling", FinetuneConfig.pooling),
        seed=args.seed,
        text_pairs=bool(getattr(args, "text_pair_column", None)),
    )
    os.makedirs(args.output, exist_ok=True)
    if args.task == "classify":
        return _classify(args, config)
    return _tag(args, config)


def _classify(args, config):
    from saved_models.serving_export import export_classifier_serving
    from tasks.finetuning import build_classifier, finetune_setup, training_callbacks
    from tasks.labelled_files import label_ids, read_csv_columns

    columns = (args.text_column, args.text_pair_column, args.label_column)
    train = read_csv_columns(args.train, columns)
    test = read_csv_columns(args.test, columns) if args.test else None
    label_names = sorted(set(train[args.label_column]))
    if test is not None:
        label_ids(test[args.label_column], label_names, args.test)
    if len(label_names) < 2:
        raise UsageError(f"{args.train}: column {args.label_column!r} has a single label {label_names}; need 2 or more.")

    def texts(data):
        return (data[args.text_column], data[args.text_pair_column]) if args.text_pair_column else data[args.text_column]

    loaded, config = finetune_setup(args.model, config, train[args.text_column], train.get(args.text_pair_column))
    _save_config(config, args.output)
    classifier = build_classifier(loaded, label_names, config, train_examples=len(train[args.label_column]))
    classifier.fit(
        texts(train),
        label_ids(train[args.label_column], label_names, args.train),
        epochs=config.epochs,
        batch_size=config.batch_size,
        callbacks=training_callbacks(args.output),
    )
    if test is not None:
        _, accuracy = classifier.evaluate(
            texts(test), label_ids(test[args.label_column], label_names, args.test), batch_size=config.batch_size, verbose=0
        )
        print(f"test accuracy: {accuracy:.4f} ({len(test[args.label_column])} examples)")
        _save_metrics({"test_accuracy": float(accuracy), "test_examples": len(test[args.label_column])}, args.output)
    with atomic_file(os.path.join(args.output, "model.keras")) as staging:
        classifier.save(staging)
    export_classifier_serving(classifier, os.path.join(args.output, "serving"), text_pairs=bool(args.text_pair_column))
    print(f"wrote {args.output}/model.keras and {args.output}/serving")
    return 0


def _tag(args, config):
    from saved_models.tagger_serving_export import export_tagger_serving
    from tasks.finetuning import build_tagger, finetune_setup, training_callbacks
    from tasks.labelled_files import label_ids, read_conll

    sentences, tags = read_conll(args.train)
    tag_names = sorted({tag for sentence_tags in tags for tag in sentence_tags})
    test = read_conll(args.test) if args.test else None
    if test is not None:
        label_ids([tag for sentence in test[1] for tag in sentence], tag_names, args.test, what="tag")

    def ids(tag_lists, path):
        return [label_ids(sentence_tags, tag_names, path, what="tag") for sentence_tags in tag_lists]

    loaded, config = finetune_setup(args.model, config, [" ".join(words) for words in sentences])
    _save_config(config, args.output)
    tagger = build_tagger(loaded, tag_names, config, train_examples=len(sentences))
    tagger.fit(sentences, ids(tags, args.train), epochs=config.epochs, batch_size=config.batch_size,
               callbacks=training_callbacks(args.output))
    if test is not None:
        _, accuracy = tagger.evaluate(test[0], ids(test[1], args.test), batch_size=config.batch_size, verbose=0)
        print(f"test accuracy (per word): {accuracy:.4f} ({len(test[0])} sentences)")
        _save_metrics({"test_accuracy_per_word": float(accuracy), "test_sentences": len(test[0])}, args.output)
    with atomic_file(os.path.join(args.output, "model.keras")) as staging:
        tagger.save(staging)
    export_tagger_serving(tagger, os.path.join(args.output, "serving"))
    print(f"wrote {args.output}/model.keras and {args.output}/serving")
    return 0


def _save_config(config, output_dir):
    config.save(os.path.join(output_dir, "finetune.json"))
    print(
        f"fine-tuning: learning rate {config.learning_rate:g}, {config.epochs} epochs, warmup "
        f"{config.warmup_fraction:g}, {config.seq_length} tokens" + (f", {config.pooling} pooling" if config.pooling else "")
        + f" (written to {output_dir}/finetune.json)"
    )


def _save_metrics(metrics, output_dir):
    with open(os.path.join(output_dir, "metrics.json"), "w", encoding="utf-8") as file:
        json.dump(metrics, file, indent=2)
