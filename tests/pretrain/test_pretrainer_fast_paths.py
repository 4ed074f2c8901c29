"""The pretrainers' fast paths compute the losses of the full-sequence computation, and keep the saved layout.

BERT runs its last encoder block only at [CLS] and the masked positions; GPT
trains on the fused tied-softmax loss of its hidden states. Both must give the
loss of the plain computation on the same weights (dropout off) and keep the
backbone as the sub-layer named "backbone", so files written before load.
"""

import keras
import numpy as np
import tensorflow as tf

from layers import BACKBONE_SIZES, BertEncoder, GptDecoder
from pretrain.objectives.backbone_pretrainer import weighted_mean_loss
from pretrain.objectives.bert_pretrainer import BertPretrainer
from pretrain.objectives.gpt_pretrainer import GptPretrainer, features_to_inputs

VOCABULARY = 60
RNG = np.random.default_rng(0)


def bert_batch(unilm=False):
    x = {
        "token_ids": RNG.integers(5, VOCABULARY, (4, 12)).astype("int32"),
        "segment_ids": np.array([[0] * 6 + [1] * 6] * 4, "int32"),
        "padding_mask": np.array([[1] * 12, [1] * 9 + [0] * 3, [1] * 12, [1] * 7 + [0] * 5], "int32"),
        "mask_positions": np.array([[1, 5, 11, 0], [2, 3, 8, 0], [4, 6, 7, 9], [1, 2, 3, 0]], "int32"),
    }
    if unilm:
        x["attention_mode"] = np.array([0, 1, 2, 1], "int32")
    weights = np.array([[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 1, 0]], "float32")
    y = {
        "mlm_ids": RNG.integers(5, VOCABULARY, (4, 4)).astype("int32"),
        "mlm_weights": weights,
        "nsp_labels": np.array([0, 1, 1, 0], "int32"),
    }
    return x, y


def full_sequence_bert_loss(model, x, y):
    """google-research/bert's loss with every position of every block computed."""
    backbone_inputs = {name: x[name] for name in ("token_ids", "segment_ids", "padding_mask")}
    if model.unilm:
        mask = model.get_layer("unilm_mask")(x["padding_mask"], x["segment_ids"], x["attention_mode"])
        encoded = model.backbone.call_with_attention_mask(backbone_inputs, mask)
    else:
        encoded = model.backbone(backbone_inputs)
    assert encoded["sequence_output"].shape[1] == x["token_ids"].shape[1]  # really the full pass
    mlm_logits = model.mlm_head(encoded["sequence_output"], x["mask_positions"])
    per_token = keras.losses.sparse_categorical_crossentropy(y["mlm_ids"], mlm_logits, from_logits=True)
    per_example = keras.losses.sparse_categorical_crossentropy(
        y["nsp_labels"], model.nsp_head(encoded["pooled_output"]), from_logits=True
    )
    nsp_weights = np.equal(x["attention_mode"], 0).astype("float32") if model.unilm else np.ones(4, "float32")
    return float(weighted_mean_loss(per_token, y["mlm_weights"]) + weighted_mean_loss(per_example, nsp_weights))


def tiny_bert(unilm=False):
    keras.utils.set_random_seed(1)
    backbone = BertEncoder(
        vocabulary_size=VOCABULARY, dropout=0.0, max_sequence_length=16, name="backbone", **BACKBONE_SIZES["tiny"]
    )
    return BertPretrainer(backbone, unilm=unilm)


def test_bert_loss_equals_the_full_sequence_loss():
    for unilm in (False, True):
        model = tiny_bert(unilm)
        x, y = bert_batch(unilm)
        fast = float(model.compute_loss(x, y, model(x)))
        np.testing.assert_allclose(fast, full_sequence_bert_loss(model, x, y), atol=1e-5)


def test_bert_keeps_the_backbone_as_one_sub_layer_and_reloads(tmp_path):
    model = tiny_bert()
    x, _ = bert_batch()
    # The saved weights are stored under these names, as before the fast path.
    assert [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)] == [
        "backbone",
        "mlm_head",
        "nsp_head",
    ]
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path, compile=False)
    np.testing.assert_allclose(np.asarray(reloaded(x)["mlm_features"]), np.asarray(model(x)["mlm_features"]), atol=1e-6)


def tiny_gpt():
    keras.utils.set_random_seed(2)
    backbone = GptDecoder(
        vocabulary_size=VOCABULARY, dropout=0.0, max_sequence_length=16, name="backbone", **BACKBONE_SIZES["tiny"]
    )
    return GptPretrainer(backbone)


def gpt_batch():
    tokens = RNG.integers(5, VOCABULARY, (4, 11)).astype("int32")
    tokens[1, 7:] = 0  # padding: these labels weigh nothing
    x, y = features_to_inputs({"input_ids": tokens[:, :-1], "labels": tokens[:, 1:]})
    return {name: np.asarray(value) for name, value in x.items()}, {name: np.asarray(value) for name, value in y.items()}


def test_gpt_loss_accuracy_and_perplexity_equal_those_of_the_full_logits():
    model = tiny_gpt()
    x, y = gpt_batch()
    logits = model.backbone.logits(model(x))  # (B, T, V), the full computation
    per_token = keras.losses.sparse_categorical_crossentropy(y["labels"], logits, from_logits=True)
    expected_loss = float(weighted_mean_loss(per_token, y["label_weights"]))
    right = np.equal(np.argmax(np.asarray(logits), -1), y["labels"])
    expected_accuracy = (right * y["label_weights"]).sum() / y["label_weights"].sum()

    np.testing.assert_allclose(float(model.compute_loss(x, y, model(x))), expected_loss, atol=1e-5)
    np.testing.assert_allclose(float(model.token_accuracy.result()), expected_accuracy, atol=1e-5)
    np.testing.assert_allclose(float(model.perplexity.result()), np.exp(expected_loss), rtol=1e-5)


def test_gpt_training_step_gradients_equal_those_of_the_full_logits():
    model = tiny_gpt()
    x, y = gpt_batch()
    variables = model.trainable_variables
    gradients = []
    for loss_of in (
        lambda: model.compute_loss(x, y, model(x)),
        lambda: weighted_mean_loss(
            keras.losses.sparse_categorical_crossentropy(
                y["labels"], model.backbone.logits(model(x)), from_logits=True
            ),
            y["label_weights"],
        ),
    ):
        with tf.GradientTape() as tape:
            loss = loss_of()
        gradients.append([tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, variables)])
    for fast, full in zip(*gradients):
        np.testing.assert_allclose(fast, full, atol=1e-5)


def test_gpt_fit_and_evaluate_report_accuracy_and_perplexity():
    model = tiny_gpt()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    x, y = gpt_batch()
    history = model.fit(x, y, batch_size=4, epochs=25, verbose=0).history
    assert history["loss"][-1] < 0.5 * history["loss"][0]  # memorises one batch
    assert history["accuracy"][-1] > history["accuracy"][0] + 0.3
    results = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    np.testing.assert_allclose(results["perplexity"], np.exp(results["lm_loss"]), rtol=1e-4)
