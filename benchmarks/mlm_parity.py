"""Identical-batch MLM parity: our BERT pretrainer against keras-hub's pieces.

Builds a mini BERT twice at the same configuration: ours (`layers.BertEncoder`
+ tied `layers.MaskedLMHead` in `pretrain.objectives.bert_pretrainer.BertPretrainer`,
NSP off) and keras-hub's (`keras_hub.models.BertBackbone` + tied
`keras_hub.layers.MaskedLMHead`, as `BertMaskedLM` wires them), copies
keras-hub's initial weights into ours, and trains both with the same AdamW
(`pretrain.training.optimizer.create_optimizer`) on the same batches of masked
Wikipedia-sample examples from our pipeline. Ours trains with its own
`compute_loss` (sum(w * loss) / (sum(w) + 1e-5)); keras-hub's model trains with
Keras' stock sparse cross-entropy and per-position sample weights scaled to
give the same weighted mean. Dropout is 0 in both so that a difference can only
come from the model or the training step.

Usage (a few minutes on 2 cores):

    python benchmarks/mlm_parity.py --output runs/mlm_parity --steps 500

Prints both loss curves and the relative difference at the last step (target:
within 2% at step 500).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402

from layers import BACKBONE_SIZES, BertEncoder  # noqa: E402
from pretrain.examples.bert_examples import bert_dataset  # noqa: E402
from pretrain.objectives.bert_pretrainer import BertPretrainer, features_to_inputs  # noqa: E402
from pretrain.text.corpus import read_documents  # noqa: E402
from pretrain.text.corpus_split import split_corpus  # noqa: E402
from pretrain.text.tokenizer import WordPieceTokenizer, train_vocabulary  # noqa: E402
from pretrain.training.optimizer import create_optimizer  # noqa: E402
from pretrain.training.pretrain_config import DataConfig, TrainingConfig  # noqa: E402


def keras_hub_masked_lm(vocabulary_size, size):
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=vocabulary_size, dropout=0.0, max_sequence_length=512, **size
    )
    head = keras_hub.layers.MaskedLMHead(
        token_embedding=backbone.token_embedding,
        intermediate_activation="gelu",
        layer_norm_epsilon=1e-12,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        name="mlm_head",
    )
    inputs = {
        name: keras.Input(shape=(None,), dtype="int32", name=name)
        for name in ("token_ids", "segment_ids", "padding_mask", "mask_positions")
    }
    encoded = backbone({name: inputs[name] for name in ("token_ids", "segment_ids", "padding_mask")})
    logits = head(encoded["sequence_output"], mask_positions=inputs["mask_positions"])
    return keras.Model(inputs, logits), backbone, head


def assign_layer(ours, theirs):
    for our_weight, their_weight in zip(ours.weights, theirs.weights, strict=True):
        our_weight.assign(their_weight)


def copy_weights(ours, backbone, head):
    """keras-hub BertBackbone + MaskedLMHead -> our BertPretrainer (no NSP)."""
    encoder = ours.backbone
    encoder.token_embedding.embeddings.assign(backbone.token_embedding.embeddings)
    embeddings = encoder.embeddings_layer
    embeddings.position_embedding.position_embeddings.assign(backbone.position_embedding.position_embeddings)
    embeddings.segment_embedding.embeddings.assign(backbone.segment_embedding.embeddings)
    assign_layer(embeddings.layer_norm, backbone.embeddings_layer_norm)
    for our_block, their_block in zip(encoder.transformer_layers, backbone.transformer_layers, strict=True):
        attention, their_attention = our_block.self_attention, their_block._self_attention_layer
        for name, dense in (("query", "_query_dense"), ("key", "_key_dense"),
                            ("value", "_value_dense"), ("output", "_output_dense")):
            getattr(attention, f"{name}_kernel").assign(getattr(their_attention, dense).kernel)
            getattr(attention, f"{name}_bias").assign(getattr(their_attention, dense).bias)
        assign_layer(our_block.self_attention_layer_norm, their_block._self_attention_layer_norm)
        assign_layer(our_block.feed_forward.intermediate_dense, their_block._feedforward_intermediate_dense)
        assign_layer(our_block.feed_forward.output_dense, their_block._feedforward_output_dense)
        assign_layer(our_block.feed_forward_layer_norm, their_block._feedforward_layer_norm)
    assign_layer(encoder.pooled_dense, backbone.pooled_dense)
    assign_layer(ours.mlm_head.transform_dense, head._intermediate_dense)
    assign_layer(ours.mlm_head.transform_layer_norm, head._intermediate_layer_norm)
    ours.mlm_head.output_bias.assign(head._bias)


def masked_batches(args):
    data = DataConfig(
        corpus=(args.corpus,), corpus_format=args.corpus_format, seq_length=args.seq_length, heldout_every=1000
    )
    split_corpus(data, os.path.join(args.output, "data"))
    train_path = os.path.join(args.output, "data", "train.txt")
    tokenizer = WordPieceTokenizer(train_vocabulary(read_documents(train_path), args.vocab_size))
    dataset = bert_dataset(
        train_path, tokenizer, seq_length=args.seq_length, max_predictions=20, nsp=False, seed=0
    )
    batches = dataset.repeat().batch(args.batch_size, drop_remainder=True).map(features_to_inputs)
    return tokenizer.vocabulary_size, [
        ({k: np.array(v) for k, v in x.items()}, {k: np.array(v) for k, v in y.items()})
        for x, y in batches.take(args.steps)
    ]


def main():
    from gensim.test.utils import datapath

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True)
    parser.add_argument(
        "--corpus", default=datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    )
    parser.add_argument("--corpus-format", default="wikixml")
    parser.add_argument("--preset", default="mini")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--vocab-size", type=int, default=8000)
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)

    vocabulary_size, batches = masked_batches(args)
    size = BACKBONE_SIZES[args.preset]
    keras.utils.set_random_seed(0)
    theirs, their_backbone, their_head = keras_hub_masked_lm(vocabulary_size, size)
    ours = BertPretrainer(
        BertEncoder(vocabulary_size=vocabulary_size, dropout=0.0, name="backbone", **size), nsp=False
    )
    copy_weights(ours, their_backbone, their_head)
    training = TrainingConfig(steps=args.steps, learning_rate=5e-4, warmup_fraction=0.1)
    ours.compile(optimizer=create_optimizer(training, ours))
    theirs.compile(
        optimizer=create_optimizer(training, theirs),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )

    curves = {"ours": [], "keras_hub": []}
    start = time.time()
    for step, (x, y) in enumerate(batches, start=1):
        weights = y["mlm_weights"]
        # sum_over_batch_size divides by B*P; this scaling makes it sum(w*l)/(sum(w)+1e-5).
        scaled = weights * weights.size / (weights.sum() + 1e-5)
        curves["keras_hub"].append(float(theirs.train_on_batch(x, y["mlm_ids"], sample_weight=scaled)))
        curves["ours"].append(float(ours.train_on_batch(x, y, return_dict=True)["mlm_loss"]))
        if step % 50 == 0 or step == 1:
            print(
                f"step {step:4d}  ours {curves['ours'][-1]:.4f}  keras-hub {curves['keras_hub'][-1]:.4f}  "
                f"({time.time() - start:.0f} s)",
                flush=True,
            )
    ours_curve, their_curve = np.array(curves["ours"]), np.array(curves["keras_hub"])
    relative = np.abs(ours_curve - their_curve) / their_curve
    print(
        f"\n{args.preset} BERT, {args.steps} steps of {args.batch_size} x {args.seq_length}: "
        f"MLM loss {ours_curve[0]:.3f} -> {ours_curve[-1]:.4f} (ours) vs "
        f"{their_curve[0]:.3f} -> {their_curve[-1]:.4f} (keras-hub); relative difference at the "
        f"last step {relative[-1]:.2e}, largest along the curve {relative.max():.2e} "
        f"({'within' if relative[-1] <= 0.02 else 'NOT within'} 2%)"
    )
    np.savez(os.path.join(args.output, "curves.npz"), **curves)


if __name__ == "__main__":
    main()
