"""The fine-tuning optimizer: BERT's warmup + linear decay over the real run, no decay on LayerNorm/bias."""

import numpy as np

from tasks.finetuning import FinetuneConfig, build_classifier, finetune_setup

TEXTS = ["a fine film", "a dull film", "fine acting", "dull plot", "fine", "dull"]
LABELS = [1, 0, 1, 0, 1, 0]


def test_rate_warms_up_then_reaches_zero_at_the_last_update(bert_pretrained):
    config = FinetuneConfig(epochs=2, batch_size=4, seq_length=16, learning_rate=1e-3, warmup_fraction=0.5, pooling="cls")
    classifier = build_classifier(bert_pretrained[0], ["0", "1"], config, train_examples=len(TEXTS))
    schedule = classifier.optimizer._learning_rate
    assert config.total_steps(len(TEXTS)) == 4  # 2 epochs x ceil(6 / 4) batches
    rates = [float(schedule(step)) for step in range(5)]
    np.testing.assert_allclose(rates, [5e-4, 1e-3, 2e-3 / 3, 1e-3 / 3, 0.0], rtol=1e-6)
    classifier.fit(TEXTS, LABELS, epochs=2, batch_size=4, verbose=0)
    assert int(classifier.optimizer.iterations) == 4
    assert float(classifier.optimizer.learning_rate) == 0.0  # the run ended exactly at the schedule's end


def test_layer_norm_and_biases_get_no_weight_decay_and_gradients_are_clipped(bert_pretrained):
    loaded, config = finetune_setup(bert_pretrained[0], FinetuneConfig(seq_length=16, clip_norm=0.5), TEXTS)
    classifier = build_classifier(loaded, ["0", "1"], config, train_examples=len(TEXTS))
    optimizer = classifier.optimizer
    optimizer.build(classifier.trainable_variables)
    paths = [v.path for v in classifier.trainable_variables]
    decayed = {v.path for v in classifier.trainable_variables if optimizer._use_weight_decay(v)}
    layer_norm = {path for path in paths if path.endswith(("gamma", "beta"))}  # LayerNormalization's weights
    assert layer_norm and not layer_norm & decayed
    assert not {path for path in decayed if path.endswith("bias")}
    assert any(path.endswith("logits/kernel") for path in decayed)
    assert optimizer.global_clipnorm == 0.5
