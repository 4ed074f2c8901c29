"""BertPretrainer / GptPretrainer: losses as specified, tied weights, metrics, save and reload."""

import doctest

import keras
import numpy as np
import pytest

from layers import BACKBONE_SIZES, BertEncoder, GptDecoder
from pretrain.objectives import bert_pretrainer, gpt_pretrainer, perplexity
from pretrain.objectives.bert_pretrainer import BertPretrainer
from pretrain.objectives.gpt_pretrainer import GptPretrainer

VOCABULARY = 40


def _bert(nsp=True):
    keras.utils.set_random_seed(0)
    backbone = BertEncoder(vocabulary_size=VOCABULARY, name="backbone", dropout=0.0, **BACKBONE_SIZES["tiny"])
    return BertPretrainer(backbone, nsp=nsp)


def _bert_batch(rng, batch=3, length=10, predictions=4):
    x = {
        "token_ids": rng.integers(5, VOCABULARY, (batch, length)).astype("int32"),
        "segment_ids": np.repeat([[0] * 5 + [1] * 5], batch, axis=0).astype("int32"),
        "padding_mask": np.ones((batch, length), "int32"),
        "mask_positions": rng.integers(1, length, (batch, predictions)).astype("int32"),
    }
    weights = np.ones((batch, predictions), "float32")
    weights[0, 2:] = 0.0  # padded prediction slots
    y = {
        "mlm_ids": rng.integers(5, VOCABULARY, (batch, predictions)).astype("int32"),
        "mlm_weights": weights,
        "nsp_labels": rng.integers(0, 2, (batch,)).astype("int32"),
    }
    return x, y


def _cross_entropy(logits, labels):
    logits = logits - logits.max(-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return -np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]


@pytest.mark.parametrize("module", [bert_pretrainer, gpt_pretrainer, perplexity])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


def test_bert_loss_is_weighted_mlm_mean_plus_nsp():
    model = _bert()
    x, y = _bert_batch(np.random.default_rng(0))
    outputs = {k: np.array(v) for k, v in model(x).items()}
    mlm_logits = np.array(model.mlm_head.logits(outputs["mlm_features"]))
    assert mlm_logits.shape == y["mlm_ids"].shape + (VOCABULARY,)
    per_token = _cross_entropy(mlm_logits, y["mlm_ids"])
    expected_mlm = (per_token * y["mlm_weights"]).sum() / (y["mlm_weights"].sum() + 1e-5)
    expected = expected_mlm + _cross_entropy(outputs["nsp_logits"], y["nsp_labels"]).mean()
    loss = model.compute_loss(x, y, model(x))
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    np.testing.assert_allclose(float(model.mlm_loss.result()), expected_mlm, rtol=1e-5)
    # The fused loss's metrics are those of the logits, over the weighted positions only.
    correct = (mlm_logits.argmax(-1) == y["mlm_ids"]) * y["mlm_weights"]
    np.testing.assert_allclose(float(model.mlm_accuracy.result()), correct.sum() / y["mlm_weights"].sum(), rtol=1e-4)
    np.testing.assert_allclose(float(model.mlm_perplexity.result()), np.exp(expected_mlm), rtol=1e-4)
    # The padded slots count for nothing: changing their labels leaves the loss unchanged.
    y["mlm_ids"][0, 2:] = 5
    np.testing.assert_allclose(float(model.compute_loss(x, y, model(x))), expected, rtol=1e-5)


def test_mlm_head_is_tied_to_the_token_embedding_and_nsp_is_optional():
    model = _bert()
    hidden = BACKBONE_SIZES["tiny"]["hidden_dim"]
    # Head: transform dense (2) + LayerNorm (2) + output bias; NSP: dense (2); no [H, V] kernel.
    assert len(model.weights) == len(model.backbone.weights) + 5 + 2
    assert [v.path for v in model.weights if tuple(v.shape) in ((hidden, VOCABULARY), (VOCABULARY, hidden))] == [
        model.backbone.token_embedding.embeddings.path
    ]
    x, _ = _bert_batch(np.random.default_rng(1))
    no_nsp = _bert(nsp=False)
    assert set(no_nsp(x)) == {"mlm_features"}
    assert len(no_nsp.weights) == len(model.weights) - 2


def test_bert_trains_and_reports_metrics():
    model = _bert()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x, y = _bert_batch(np.random.default_rng(2), batch=8)
    history = model.fit(x, y, batch_size=8, epochs=15, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]  # memorises one batch
    assert history.history["mlm_accuracy"][-1] > 0.5
    assert history.history["nsp_accuracy"][-1] == 1.0
    np.testing.assert_allclose(
        history.history["mlm_perplexity"][-1], np.exp(history.history["mlm_loss"][-1]), rtol=0.3
    )


def test_bert_pretrainer_saves_and_reloads(tmp_path):
    model = _bert()
    x, _ = _bert_batch(np.random.default_rng(3))
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path, compile=False)
    assert reloaded.get_layer("backbone").name == "backbone"
    for name in ("mlm_features", "nsp_logits"):
        np.testing.assert_allclose(np.array(reloaded(x)[name]), np.array(model(x)[name]), atol=1e-5)


def test_gpt_loss_perplexity_and_reload(tmp_path):
    keras.utils.set_random_seed(0)
    backbone = GptDecoder(vocabulary_size=VOCABULARY, name="backbone", dropout=0.0, **BACKBONE_SIZES["tiny"])
    model = GptPretrainer(backbone)
    rng = np.random.default_rng(4)
    tokens = rng.integers(5, VOCABULARY, (2, 9)).astype("int32")
    x, y = gpt_pretrainer.features_to_inputs({"input_ids": tokens[:, :-1], "labels": tokens[:, 1:]})
    x = {name: np.array(value) for name, value in x.items()}
    logits = np.array(model.backbone.logits(model(x)))  # the model outputs hidden states
    expected = _cross_entropy(logits, tokens[:, 1:]).mean()
    np.testing.assert_allclose(float(model.compute_loss(x, y, model(x))), expected, rtol=1e-5)
    np.testing.assert_allclose(float(model.perplexity.result()), np.exp(expected), rtol=1e-4)
    # Causal: the prediction at position t does not see tokens after t.
    changed = dict(x, token_ids=x["token_ids"].copy())
    changed["token_ids"][:, -1] = 5
    np.testing.assert_allclose(np.array(model.backbone.logits(model(changed)))[:, :-1], logits[:, :-1], atol=1e-5)
    path = str(tmp_path / "gpt.keras")
    model.save(path)
    reloaded = keras.models.load_model(path, compile=False)
    np.testing.assert_allclose(np.array(reloaded.backbone.logits(reloaded(x))), logits, atol=1e-5)


def test_batched_unigram_counts_equal_the_per_document_counts(tmp_path, lee_corpus_path):
    from pretrain.runs import ngram_baselines
    from pretrain.text.corpus import read_documents
    from pretrain.text.tokenizer import WordPieceTokenizer, train_vocabulary

    tokenizer = WordPieceTokenizer(train_vocabulary(read_documents(lee_corpus_path), 300))
    per_document, _ = ngram_baselines.ngram_counts(lee_corpus_path, tokenizer)
    per_document[3] = 0  # ngram_counts appends [SEP] (id 3) to every document
    batched = ngram_baselines.unigram_counts(lee_corpus_path, tokenizer, documents_per_call=7)
    assert batched.sum() > 1000
    assert (batched == per_document).all()
