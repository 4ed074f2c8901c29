"""BERT pretraining: masked language modelling plus next-sentence prediction.

`BertPretrainer` puts two heads on a `BertEncoder`: a `MaskedLMHead` whose
output projection is the encoder's token embedding (tied weights), evaluated
only at the masked positions, and a `NextSentenceHead` on the pooled [CLS]
vector. The loss is google-research/bert's: the masked-LM cross-entropy
averaged over the real predictions (`sum(w * loss) / (sum(w) + 1e-5)`, so the
padded prediction slots count for nothing) plus the mean next-sentence
cross-entropy. Without NSP (RoBERTa, SpanBERT) the model has no NSP head.
The encoder's last block is computed only at [CLS] and the masked positions
(`BertEncoder(..., output_positions=...)`), the only rows the heads read; the
outputs are those of the full pass, about a sixth of the encoder's work less.

With `unilm=True` one network learns UniLM's three language models (Dong et
al., 2019): every example carries an `attention_mode` (bidirectional,
left-to-right or seq2seq, drawn at random by `with_attention_modes`) and the
encoder runs under the matching `UnilmAttentionMask`; the masked-LM loss is
the same cloze task under each mask, and NSP is learned only on the
bidirectional examples (the only ones whose [CLS] sees both segments).

It trains on batches of the pipeline's google-research/bert features
(`pretrain.examples.bert_examples.bert_dataset`, batched and passed through
`features_to_inputs`) and reports `mlm_loss`, `mlm_accuracy`,
`mlm_perplexity`, and with NSP `nsp_loss` and `nsp_accuracy`.
"""

import keras
import tensorflow as tf
from keras import ops

from layers import MaskedLMHead, NextSentenceHead, UnilmAttentionMask
from pretrain.objectives.backbone_pretrainer import BackbonePretrainer, scale_for_replicas, weighted_mean_loss
from pretrain.objectives.perplexity import Perplexity


def features_to_inputs(features):
    """Maps a batch of google-research/bert features to Keras `(x, y)`."""
    x = {
        "token_ids": tf.cast(features["input_ids"], tf.int32),
        "segment_ids": tf.cast(features["segment_ids"], tf.int32),
        "padding_mask": tf.cast(features["input_mask"], tf.int32),
        "mask_positions": tf.cast(features["masked_lm_positions"], tf.int32),
    }
    y = {
        "mlm_ids": tf.cast(features["masked_lm_ids"], tf.int32),
        "mlm_weights": tf.cast(features["masked_lm_weights"], tf.float32),
        "nsp_labels": tf.reshape(tf.cast(features["next_sentence_labels"], tf.int32), [-1]),
    }
    return x, y


def with_attention_modes(batches, seed):
    """Adds `attention_mode` to batches of `(x, y)`: 0, 1 or 2 (bidirectional,
    left-to-right, seq2seq), uniformly per example, reproducible for a seed."""

    def add(index, batch):
        x, y = batch
        batch_size = tf.shape(x["token_ids"])[0]
        seed_pair = tf.stack([tf.constant(seed, tf.int64), index])
        modes = tf.random.stateless_uniform([batch_size], seed_pair, minval=0, maxval=3, dtype=tf.int32)
        return dict(x, attention_mode=modes), y

    return batches.enumerate().map(add)


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class BertPretrainer(BackbonePretrainer):
    """A `BertEncoder` with a tied masked-LM head and a next-sentence head.

    Args:
        backbone: `layers.BertEncoder`. Named `"backbone"` so that a saved
            pretrainer exposes it under that name.
        nsp: bool. Add the next-sentence head and loss. Defaults to True.
        unilm: bool. Mix UniLM's bidirectional, left-to-right and seq2seq
            attention masks, chosen per example by the `attention_mode`
            input. Defaults to False.

    Call arguments (dict):
        token_ids, segment_ids, padding_mask: int `[batch, sequence]`.
        mask_positions: int `[batch, P]`, positions to predict.
        attention_mode: int `[batch]`, with `unilm=True` only.

    Returns:
        Dict with `mlm_features` `[batch, P, hidden_dim]` (the masked-LM
        head's transformed states at the masked positions; their logits are
        `model.mlm_head.logits(outputs["mlm_features"])`, the loss fuses that
        projection with the cross-entropy) and, with NSP, `nsp_logits`
        `[batch, 2]`.

    Example:

    >>> import numpy as np
    >>> from layers import BACKBONE_SIZES, BertEncoder
    >>> backbone = BertEncoder(vocabulary_size=50, name="backbone", **BACKBONE_SIZES["tiny"])
    >>> model = BertPretrainer(backbone)
    >>> x = {"token_ids": np.ones((2, 8), "int32"), "segment_ids": np.zeros((2, 8), "int32"),
    ...      "padding_mask": np.ones((2, 8), "int32"), "mask_positions": np.array([[1, 2]] * 2)}
    >>> {name: tuple(value.shape) for name, value in model(x).items()}
    {'mlm_features': (2, 2, 128), 'nsp_logits': (2, 2)}
    """

    def __init__(self, backbone, nsp=True, unilm=False, **kwargs):
        # Layers.
        mlm_head = MaskedLMHead(
            token_embedding=backbone.token_embedding,
            dtype=backbone.dtype_policy,
            name="mlm_head",
        )
        nsp_head = NextSentenceHead(dtype=backbone.dtype_policy, name="nsp_head") if nsp else None
        unilm_mask = UnilmAttentionMask(name="unilm_mask") if unilm else None

        # Functional model.
        inputs = {
            name: keras.Input(shape=(None,), dtype="int32", name=name)
            for name in ("token_ids", "segment_ids", "padding_mask", "mask_positions")
        }
        backbone_inputs = {name: inputs[name] for name in ("token_ids", "segment_ids", "padding_mask")}
        if unilm:
            inputs["attention_mode"] = keras.Input(shape=(), dtype="int32", name="attention_mode")
            attention_mask = unilm_mask(
                inputs["padding_mask"], inputs["segment_ids"], inputs["attention_mode"]
            )
            encoded = backbone.call_with_attention_mask(
                backbone_inputs, attention_mask, output_positions=inputs["mask_positions"]
            )
        else:
            encoded = backbone(backbone_inputs, output_positions=inputs["mask_positions"])
        # The last encoder block ran only at [CLS] and the masked positions:
        # `sequence_output` is already (B, P, H) there. The head stops before
        # its vocabulary projection, which `compute_loss` runs fused with the
        # cross-entropy, so the (B, P, V) logits are never held.
        outputs = {"mlm_features": mlm_head(encoded["sequence_output"], return_features=True)}
        if nsp:
            outputs["nsp_logits"] = nsp_head(encoded["pooled_output"])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # Config and metrics.
        self.backbone = backbone
        self.nsp = nsp
        self.unilm = unilm
        self.mlm_head = mlm_head
        self.nsp_head = nsp_head
        self.mlm_loss = keras.metrics.Mean(name="mlm_loss")
        self.mlm_accuracy = keras.metrics.Mean(name="mlm_accuracy")
        self.mlm_perplexity = Perplexity(name="mlm_perplexity")
        if nsp:
            self.nsp_loss = keras.metrics.Mean(name="nsp_loss")
            self.nsp_accuracy = keras.metrics.SparseCategoricalAccuracy(name="nsp_accuracy")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        weights = y["mlm_weights"]
        mlm_loss, mlm_accuracy = self.mlm_head.features_loss(
            y_pred["mlm_features"], y["mlm_ids"], weights, return_accuracy=True
        )
        # Batch means over the weighted positions, accumulated position by position.
        num_predictions = ops.sum(ops.cast(weights, "float32"))
        self.mlm_loss.update_state(mlm_loss)
        self.mlm_accuracy.update_state(mlm_accuracy, sample_weight=num_predictions)
        self.mlm_perplexity.update_state(mlm_loss, sample_weight=num_predictions)
        loss = mlm_loss
        if self.nsp:
            nsp_logits = ops.cast(y_pred["nsp_logits"], "float32")
            per_example = keras.losses.sparse_categorical_crossentropy(
                y["nsp_labels"], nsp_logits, from_logits=True
            )
            if self.unilm:  # only a bidirectional [CLS] sees both segments
                nsp_weights = ops.cast(ops.equal(x["attention_mode"], 0), "float32")
                nsp_loss = weighted_mean_loss(per_example, nsp_weights)
            else:
                nsp_weights = None
                nsp_loss = ops.mean(per_example)
            self.nsp_loss.update_state(nsp_loss)
            self.nsp_accuracy.update_state(y["nsp_labels"], nsp_logits, sample_weight=nsp_weights)
            loss = loss + nsp_loss
        return scale_for_replicas(loss)

    def extra_config(self):
        return {"nsp": self.nsp, "unilm": self.unilm}
