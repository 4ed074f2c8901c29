"""`pretrain electra`: the generator/discriminator model, that it learns, and the run end to end."""

import json
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import cli
from layers import BertEncoder
from pretrain.errors import UsageError
from pretrain.objectives.electra_pretrainer import ElectraPretrainer, default_generator_layers
from pretrain.objectives.pretrained import load_pretrained
from pretrain.training.pretrain_config import ElectraPretrainConfig, GeneratorConfig, PretrainConfig
from tasks.backbone_loading import load_backbone
from tests.helpers.pretrain_runs import output_files, tiny_run_arguments, write_lines_corpus


def _backbone(vocabulary_size=24, num_layers=2):
    return BertEncoder(vocabulary_size, num_layers=num_layers, num_heads=2, hidden_dim=32, intermediate_dim=64,
                       dropout=0.0, max_sequence_length=16, name="backbone")


def _counting_batches(batch_size, length, vocabulary_size, masked, rng):
    """Text where every token is the previous one + 1 (mod 19, ids 5..23), 3 positions masked."""
    starts = rng.integers(0, 19, size=(batch_size, 1))
    text = 5 + (starts + np.arange(length)) % 19
    positions = np.stack([rng.choice(np.arange(1, length), masked, replace=False) for _ in range(batch_size)])
    positions = np.sort(positions, 1)
    token_ids = text.copy()
    np.put_along_axis(token_ids, positions, 4, axis=1)  # [MASK]
    x = {"token_ids": token_ids.astype("int32"), "segment_ids": np.zeros_like(token_ids, "int32"),
         "padding_mask": np.ones_like(token_ids, "int32"), "mask_positions": positions.astype("int32"),
         "mlm_ids": np.take_along_axis(text, positions, 1).astype("int32"),
         "mlm_weights": np.ones(positions.shape, "float32")}
    return x, {"mlm_ids": x["mlm_ids"], "mlm_weights": x["mlm_weights"]}


def test_default_generator_is_a_quarter_of_the_blocks_at_least_one():
    assert [default_generator_layers(n) for n in (1, 2, 4, 12, 24)] == [1, 1, 1, 3, 6]
    model = ElectraPretrainer(_backbone(num_layers=4), generator_layers=2)
    assert [layer.name for layer in model.layers if layer.name.startswith("generator_layer")] == [
        "generator_layer_0", "generator_layer_1"
    ]


def test_generator_shares_the_discriminators_embeddings():
    backbone = _backbone()
    model = ElectraPretrainer(backbone, seed=0)
    assert model.generator_head.token_embedding is backbone.token_embedding
    # No second copy of the embedding tables among the model's weights.
    paths = [weight.path for weight in model.weights]
    assert len(paths) == len(set(paths))
    assert sum("token_embedding" in path for path in paths) == 1


def test_each_loss_trains_its_own_network():
    """The generator learns only from its masked-LM loss (sampling passes no gradient), the discriminator's
    blocks and head only from the replaced-token loss, and the shared embeddings from both."""
    keras.utils.set_random_seed(0)
    model = ElectraPretrainer(_backbone(), generator_layers=1, seed=0)
    x, y = _counting_batches(8, 16, 24, 3, np.random.default_rng(0))
    with tf.GradientTape(persistent=True) as tape:
        outputs = model(x, training=True)
        mlm_loss = model.generator_head.features_loss(outputs["mlm_features"], y["mlm_ids"], y["mlm_weights"])
        replaced = keras.ops.cast(outputs["replaced"], "float32")
        rtd_loss = keras.ops.mean(keras.ops.binary_crossentropy(replaced, outputs["rtd_logits"], from_logits=True))

    def moved(loss, layer):
        own = [w for w in layer.trainable_weights if layer is embeddings or "token_embedding" not in w.path]
        gradients = tape.gradient(loss, own)
        return any(g is not None and float(tf.reduce_max(tf.abs(tf.convert_to_tensor(g)))) > 0 for g in gradients)

    embeddings = model.backbone.embeddings_layer
    generator = model.get_layer("generator_layer_0")
    discriminator_blocks = model.backbone.transformer_layers[0]
    rtd_head = model.get_layer("rtd_head")
    assert float(keras.ops.mean(replaced)) > 0  # the random generator replaced tokens
    assert moved(mlm_loss, generator) and moved(mlm_loss, embeddings)
    assert not moved(mlm_loss, discriminator_blocks) and not moved(mlm_loss, rtd_head)
    assert moved(rtd_loss, discriminator_blocks) and moved(rtd_loss, rtd_head) and moved(rtd_loss, embeddings)
    # The generator head's own transform and bias (its projection is the shared token embedding).
    assert not moved(rtd_loss, generator) and not moved(rtd_loss, model.generator_head)


def test_a_saved_pretrainer_reloads_with_the_same_weights(tmp_path):
    model = ElectraPretrainer(_backbone(), seed=0, name="electra_pretrainer")
    model(_counting_batches(2, 16, 24, 3, np.random.default_rng(0))[0])
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path, compile=False)
    assert type(reloaded) is ElectraPretrainer and reloaded.generator_layers == 1
    assert reloaded.generator_head.token_embedding is reloaded.backbone.token_embedding
    for a, b in zip(model.weights, reloaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


@pytest.fixture(scope="module")
def electra_run(tmp_path_factory, lee_corpus_path):
    corpus = write_lines_corpus(lee_corpus_path, str(tmp_path_factory.mktemp("corpus") / "news.txt"))
    output = str(tmp_path_factory.mktemp("electra") / "run")
    arguments = [*tiny_run_arguments(corpus, output), "--masking", "whole-word", "--generator-layers", "2",
                 "--discriminator-weight", "20"]
    assert cli.main(["electra", *arguments]) == 0
    return output


def test_electra_run_writes_the_documented_output_directory(electra_run):
    assert {"vocab.txt", "config.json", "checkpoints", "logs", "model.keras", "backbone"} <= set(
        output_files(electra_run)
    )
    config = PretrainConfig.load(os.path.join(electra_run, "config.json"))
    assert config.model == "electra" and config.data.masking == "whole-word" and not hasattr(config.data, "nsp")
    assert (config.generator.generator_layers, config.generator.discriminator_weight) == (2, 20.0)
    with open(os.path.join(electra_run, "metrics.json")) as file:
        metrics = json.load(file)
    assert metrics["step"] == 4
    for name in ("rtd_accuracy", "val_rtd_accuracy", "val_rtd_majority_accuracy", "val_mlm_accuracy"):
        assert 0.0 <= metrics[name] <= 1.0
    np.testing.assert_allclose(metrics["val_loss"], metrics["val_mlm_loss"] + 20 * metrics["val_rtd_loss"], rtol=1e-4)


def test_the_discriminator_is_the_backbone_fine_tuning_reads(electra_run):
    pretrained = load_pretrained(electra_run)
    assert type(pretrained.backbone) is BertEncoder and type(pretrained.model) is ElectraPretrainer
    loaded = load_backbone(electra_run)
    assert loaded.model_type == "bert" and not loaded.pooler_trained  # so fine-tuning pools the mean
    saved = load_backbone(os.path.join(electra_run, "backbone"))
    assert saved.model_type == "bert" and not saved.pooler_trained
    # The checkpoint restores the same discriminator as model.keras.
    os.rename(os.path.join(electra_run, "model.keras"), os.path.join(electra_run, "model.keras.bak"))
    try:
        from_checkpoint = load_pretrained(electra_run).backbone
    finally:
        os.rename(os.path.join(electra_run, "model.keras.bak"), os.path.join(electra_run, "model.keras"))
    for a, b in zip(pretrained.backbone.weights, from_checkpoint.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_electra_options_and_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["electra", "--help"])
    text = capsys.readouterr().out
    assert "--generator-layers" in text and "--masking" in text and "--no-nsp" not in text
    with pytest.raises(UsageError, match=re.escape("data.nsp = True does not apply to `pretrain electra`")):
        PretrainConfig.from_dict({"model": "electra", "data": {"nsp": True}})
    with pytest.raises(UsageError, match="generator_layers"):
        ElectraPretrainConfig(generator=GeneratorConfig(generator_layers=0)).validated()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model": "electra", "data": {"nsp": False, "corpus": "x.txt"}}))
    assert cli.main(["bert", "--config", str(config), "--output", str(tmp_path / "out")]) == 2
    assert "use `pretrain electra`" in capsys.readouterr().err
