"""The fine-tune -> export -> serve step of `make demo`."""

import os

import tensorflow as tf

from saved_models.serving_export import export_classifier_serving
from tasks.finetuning import FinetuneConfig, build_classifier, training_callbacks
from tasks.rotten_tomatoes import LABEL_NAMES, load_rotten_tomatoes

DEMO_CONFIG = FinetuneConfig(epochs=2, batch_size=32, seq_length=64, learning_rate=1e-4)
REQUEST = {"instances": [{"text": "A gripping, beautifully acted film."}, {"text": "Dull, overlong and predictable."}]}


def run_demo_finetune(pretrained_dir, output_dir, train_size=2000, test_size=500, config=DEMO_CONFIG):
    """Fine-tunes the BERT in `pretrained_dir` on Rotten Tomatoes snippets,
    exports OUTPUT/serving and answers a TF Serving-style request from it.

    Returns a dict: `test_accuracy`, `train_examples`, `test_examples`,
    `model_path`, `serving_dir`, `request`, `response` (labels, probabilities).
    """
    os.makedirs(output_dir, exist_ok=True)
    train_texts, train_labels, test_texts, test_labels = load_rotten_tomatoes(
        seed=config.seed, max_train=train_size, max_test=test_size
    )
    config.save(os.path.join(output_dir, "finetune.json"))
    classifier = build_classifier(pretrained_dir, LABEL_NAMES, config, train_examples=len(train_texts))
    print(f"fine-tuning on {len(train_texts)} Rotten Tomatoes snippets ...")
    classifier.fit(
        train_texts, train_labels, epochs=config.epochs, batch_size=config.batch_size,
        callbacks=training_callbacks(output_dir), verbose=2,
    )
    _, accuracy = classifier.evaluate(test_texts, test_labels, batch_size=64, verbose=0)
    model_path = os.path.join(output_dir, "model.keras")
    classifier.save(model_path)
    serving_dir = export_classifier_serving(classifier, os.path.join(output_dir, "serving"))
    served = tf.saved_model.load(serving_dir).signatures["serving_default"]
    outputs = served(text=tf.constant([instance["text"] for instance in REQUEST["instances"]]))
    response = {
        "labels": [label.decode("utf-8") for label in outputs["label"].numpy()],
        "probabilities": outputs["probabilities"].numpy().round(4).tolist(),
    }
    print(f"test accuracy {accuracy:.4f} on {len(test_texts)} snippets; serving answer: {response['labels']}")
    return {
        "test_accuracy": float(accuracy),
        "train_examples": len(train_texts),
        "test_examples": len(test_texts),
        "model_path": model_path,
        "serving_dir": serving_dir,
        "request": REQUEST,
        "response": response,
    }
