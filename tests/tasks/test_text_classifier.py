import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from layers import BertEncoder
from tasks.backbone_loading import load_backbone
from tasks.focal_loss import SparseFocalLoss
from tasks.layerwise_decay import LayerwiseDecayAdamW, layerwise_multipliers
from tasks.text_classifier import TextClassifier
from tasks.text_preprocessor import TextPreprocessor

TEXTS = ["a wonderful film with a great cast", "great acting and a moving story", "a dull and boring mess", "the plot is weak and the film is boring"]
LABELS = [1, 1, 0, 0]


def classifier_from(model_dir, num_classes=2, **kwargs):
    keras.utils.set_random_seed(0)
    loaded = load_backbone(model_dir)
    preprocessor = TextPreprocessor(loaded.tokenizer, seq_length=16)
    return TextClassifier(loaded.backbone, num_classes, preprocessor=preprocessor, dropout=0.0, **kwargs)


def test_fit_on_raw_strings_learns_and_keras_file_is_self_contained(bert_pretrained, tmp_path):
    classifier = classifier_from(bert_pretrained[0], label_names=["negative", "positive"])
    classifier.compile_for_task(learning_rate=2e-2)
    history = classifier.fit(TEXTS, LABELS, epochs=10, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert classifier.evaluate(TEXTS, LABELS, verbose=0)[1] == 1.0
    classifier.save(tmp_path / "classifier.keras")
    restored = keras.saving.load_model(tmp_path / "classifier.keras")
    np.testing.assert_allclose(restored.predict(TEXTS, verbose=0), classifier.predict(TEXTS, verbose=0), atol=1e-5)
    assert restored.label_names == ["negative", "positive"]


def test_pairs_and_tf_data_input(bert_pretrained):
    classifier = classifier_from(bert_pretrained[0])
    classifier.compile_for_task(learning_rate=2e-2, loss=SparseFocalLoss(gamma=2.0))
    pairs = ["is it good", "is it good", "is it bad", "is it bad"]
    dataset = tf.data.Dataset.from_tensor_slices(((TEXTS, pairs), LABELS)).batch(2)
    history = classifier.fit(dataset, epochs=6, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    packed = classifier.preprocessor(TEXTS[:1], pairs[:1])
    assert int(tf.reduce_max(packed["segment_ids"])) == 1
    assert classifier.predict((TEXTS, pairs), verbose=0).shape == (4, 2)


@pytest.mark.parametrize("problem_type, targets", [
    ("multi_label", [[1, 0, 1], [1, 0, 0], [0, 1, 0], [0, 1, 1]]),
    ("regression", [[4.5], [4.0], [1.0], [0.5]]),
])
def test_multi_label_and_regression_heads_train(bert_pretrained, problem_type, targets):
    classifier = classifier_from(bert_pretrained[0], num_classes=len(targets[0]), problem_type=problem_type)
    classifier.compile_for_task(learning_rate=2e-2)
    history = classifier.fit(TEXTS, targets, epochs=6, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    probabilities = classifier.probabilities(classifier.predict(TEXTS, verbose=0)).numpy()
    if problem_type == "multi_label":  # independent sigmoids, not a softmax
        assert ((probabilities > 0) & (probabilities < 1)).all() and not np.allclose(probabilities.sum(-1), 1)


def test_frozen_backbone_keeps_its_weights(bert_pretrained):
    classifier = classifier_from(bert_pretrained[0])
    classifier.backbone.trainable = False
    classifier.compile_for_task(learning_rate=1e-2)
    before = [w.numpy().copy() for w in classifier.backbone.weights]
    head_before = classifier.get_layer("logits").kernel.numpy().copy()
    classifier.fit(TEXTS, LABELS, epochs=1, batch_size=4, verbose=0)
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(before, classifier.backbone.weights))
    assert not np.allclose(head_before, classifier.get_layer("logits").kernel.numpy())


def test_layerwise_decay_scales_each_layers_first_adam_step(bert_pretrained):
    classifier = classifier_from(bert_pretrained[0])
    backbone = classifier.backbone
    multipliers = layerwise_multipliers(backbone, decay=0.5)
    # (Not the token table: its sparse gradient repeats rows, which changes Adam's step.)
    embedding = next(w for w in backbone.embeddings_layer.weights if "layer_norm" in w.path)
    top_block = backbone.transformer_layers[-1].weights[0]
    assert multipliers[embedding.path] == 0.5**3 and multipliers[top_block.path] == 0.5
    optimizer = LayerwiseDecayAdamW(multipliers, learning_rate=1e-3, weight_decay=0.0, epsilon=1e-12)
    classifier.compile_for_task(optimizer=optimizer)
    before = {v.path: v.numpy().copy() for v in (embedding, top_block, classifier.get_layer("logits").kernel)}
    classifier.fit(TEXTS, LABELS, epochs=1, batch_size=4, verbose=0)
    # Adam's first step moves every weight with a gradient by about the learning rate.
    step = {path: np.abs(v.numpy() - before[path]).max() for path, v in
            ((v.path, v) for v in (embedding, top_block, classifier.get_layer("logits").kernel))}
    np.testing.assert_allclose(step[embedding.path], 1e-3 * 0.5**3, rtol=0.05)
    np.testing.assert_allclose(step[top_block.path], 1e-3 * 0.5, rtol=0.05)
    np.testing.assert_allclose(step[classifier.get_layer("logits").kernel.path], 1e-3, rtol=0.05)


def test_backbone_savedmodel_gives_the_same_classifier_as_the_pretrain_dir(bert_pretrained):
    from_dir = classifier_from(bert_pretrained[0])
    from_saved_model = classifier_from(os.path.join(bert_pretrained[0], "backbone"))
    from_saved_model.get_layer("logits").set_weights(from_dir.get_layer("logits").get_weights())
    np.testing.assert_allclose(
        from_saved_model.predict(TEXTS, verbose=0), from_dir.predict(TEXTS, verbose=0), atol=1e-5
    )
    from_saved_model.compile_for_task(learning_rate=2e-2)
    history = from_saved_model.fit(TEXTS, LABELS, epochs=10, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_mean_pooling_reads_the_average_token_output_and_survives_saving(bert_pretrained, tmp_path):
    classifier = classifier_from(bert_pretrained[0], pooling="mean")
    inputs = classifier.preprocessor(TEXTS)
    sequence = classifier.backbone(inputs)["sequence_output"].numpy()
    mask = inputs["padding_mask"].numpy()[:, :, None]
    features = (sequence * mask).sum(axis=1) / mask.sum(axis=1)
    kernel, bias = classifier.get_layer("logits").get_weights()
    np.testing.assert_allclose(classifier.predict(TEXTS, verbose=0), features @ kernel + bias, atol=1e-4)
    classifier.compile_for_task(learning_rate=1e-3)
    history = classifier.fit(TEXTS, LABELS, epochs=10, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    classifier.save(tmp_path / "mean.keras")
    restored = keras.saving.load_model(tmp_path / "mean.keras")
    assert restored.pooling == "mean"
    np.testing.assert_allclose(restored.predict(TEXTS, verbose=0), classifier.predict(TEXTS, verbose=0), atol=1e-5)


def test_unknown_pooling_is_rejected(bert_pretrained):
    with pytest.raises(ValueError, match="pooling='max'"):
        classifier_from(bert_pretrained[0], pooling="max")


def test_layerwise_decay_puts_a_final_layer_norm_with_the_top_block():
    backbone = BertEncoder(100, 3, 2, 16, 32, normalize_first=True)
    multipliers = layerwise_multipliers(backbone, decay=0.5)
    assert {multipliers[w.path] for w in backbone.final_layer_norm.weights} == {0.5}
    assert {multipliers[w.path] for w in backbone.transformer_layers[0].weights} == {0.5**3}
    assert {multipliers[w.path] for w in backbone.pooled_dense.weights} == {1.0}
