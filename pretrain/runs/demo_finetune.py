"""The fine-tune -> export -> serve step of `make demo`, with the pretrained-vs-scratch comparison.

`run_demo_finetune` fine-tunes the pretrained BERT with the default settings
of `pretrain finetune classify` (`tasks.finetune_defaults`), exports the
text-in serving SavedModel, loads it back and scores the held-out texts
through its `serving_default` signature (the figure the demo reports), answers
a request of clearly positive and negative reviews, and fine-tunes the same
architecture from random initialisation with the same settings for
comparison (scored in process).
"""

import logging
import os

import numpy as np
import tensorflow as tf

from pretrain.atomic_files import atomic_file
from saved_models.serving_export import export_classifier_serving
from tasks.finetuning import FinetuneConfig, build_classifier, finetune_setup, reinitialise_backbone, training_callbacks

logger = logging.getLogger(__name__)

# Clear cases: (text, index of the right label in the task's label names: 0 negative, 1 positive).
REQUEST = [
    ("One of the best films I have seen in years: a gripping story, wonderful acting and a moving, "
     "beautiful ending. I loved every minute of it and highly recommend it.", 1),
    ("A dull, predictable mess. The acting is awful, the plot makes no sense and the dialogue is "
     "laughable. A complete waste of time; avoid it.", 0),
    ("Brilliant, funny and touching. A great cast at their best, and a film I will watch again.", 1),
    ("Boring and badly made. The worst movie I have seen this year, with terrible acting throughout.", 0),
]


def served_answers(serving_dir, texts, batch_size=64):
    """(label names, probabilities) of `texts` from the SavedModel's `serving_default`."""
    serve = tf.saved_model.load(serving_dir).signatures["serving_default"]
    labels, probabilities = [], []
    for start in range(0, len(texts), batch_size):
        outputs = serve(text=tf.constant(texts[start:start + batch_size]))
        labels += [label.decode("utf-8") for label in outputs["label"].numpy()]
        probabilities.append(outputs["probabilities"].numpy())
    return labels, np.concatenate(probabilities)


def fine_tune(loaded, label_names, config, train, random_init=False, output_dir=None):
    """A `TextClassifier` fine-tuned on `train` (texts, label ids); `random_init` re-initialises the backbone."""
    classifier = build_classifier(loaded, label_names, config, train_examples=len(train[0]))
    if random_init:
        reinitialise_backbone(classifier, config.seed)
    classifier.fit(train[0], train[1], epochs=config.epochs, batch_size=config.batch_size,
                   callbacks=training_callbacks(output_dir), verbose=2)
    return classifier


def run_demo_finetune(pretrained_dir, output_dir, label_names, train, test, compare_scratch=True, config=None):
    """Fine-tunes, exports and serves; returns a dict of what it measured.

    Args:
        pretrained_dir: str. A `pretrain bert` output directory.
        output_dir: str. Gets `model.keras`, `serving/`, `finetune.json`, `logs/`.
        label_names: [negative name, positive name].
        train, test: (texts, label ids) pairs.
        compare_scratch: bool. Also fine-tune the architecture from random initialisation.
        config: FinetuneConfig; its unset fields follow the default rule.
    """
    os.makedirs(output_dir, exist_ok=True)
    loaded, config = finetune_setup(pretrained_dir, config or FinetuneConfig(), train[0])
    config.save(os.path.join(output_dir, "finetune.json"))
    logger.info(f"fine-tuning on {len(train[0])} texts: learning rate {config.learning_rate:g}, {config.epochs} epochs, "
          f"{config.seq_length} tokens, {config.pooling} pooling (the defaults for this backbone and data)")
    classifier = fine_tune(loaded, label_names, config, train, output_dir=output_dir)
    in_process = float(classifier.evaluate(test[0], test[1], batch_size=64, verbose=0)[1])
    with atomic_file(os.path.join(output_dir, "model.keras")) as staging:
        classifier.save(staging)
    serving_dir = export_classifier_serving(classifier, os.path.join(output_dir, "serving"))
    labels, _ = served_answers(serving_dir, list(test[0]))
    served = float(np.mean([label == label_names[y] for label, y in zip(labels, test[1])]))
    request_labels, request_probabilities = served_answers(serving_dir, [text for text, _ in REQUEST])
    right = [label == label_names[y] for label, (_, y) in zip(request_labels, REQUEST)]
    results = {
        "config": {name: getattr(config, name) for name in ("learning_rate", "epochs", "seq_length", "pooling")},
        "train_examples": len(train[0]),
        "test_examples": len(test[0]),
        "served_test_accuracy": served,
        "in_process_test_accuracy": in_process,
        "serving_dir": serving_dir,
        "request": [text for text, _ in REQUEST],
        "response": {"labels": request_labels, "probabilities": request_probabilities.round(4).tolist()},
        "request_answers_right": int(sum(right)),
    }
    logger.info(f"test accuracy {served:.4f} on {len(test[0])} held-out texts, served by {serving_dir} "
          f"(in process: {in_process:.4f})")
    for (text, _), label, ok in zip(REQUEST, request_labels, right):
        logger.info(f"  served: {label:>6} {'(right)' if ok else '(WRONG)'}  {text[:70]}...")
    if compare_scratch:  # last: it re-initialises the backbone the pretrained classifier was trained in
        scratch = fine_tune(loaded, label_names, config, train, random_init=True)
        results["random_init_test_accuracy"] = float(scratch.evaluate(test[0], test[1], batch_size=64, verbose=0)[1])
        logger.info(f"same architecture from random initialisation, same settings: {results['random_init_test_accuracy']:.4f} "
              f"(pretrained, in process: {in_process:.4f})")
    return results
