"""The pretraining step of `make demo`: a small BERT on the Wikipedia sample in gensim's wheel.

`run_demo_pretraining(output_dir)` trains a tiny BERT (masked LM + NSP) for a
few minutes on 2 cores on gensim's 206-page Wikipedia sample, holding out one
article in ten, and prints the held-out masked-LM accuracy next to the
unigram baseline (always guessing the most frequent token) and the held-out
NSP accuracy next to chance. It is the same run as

    pretrain bert --corpus <wiki sample> --corpus-format wikixml --output OUTPUT \\
        --preset tiny --steps 1000 --batch-size 16 --seq-length 128 --vocab-size 8000 \\
        --learning-rate 1e-3 --heldout-every 10 --checkpoint-every 250 --eval-batches 20
"""

import json
import os
import time

import numpy as np

from pretrain import ngram_baselines
from pretrain.pretrain_config import DataConfig, PretrainConfig, TokenizerConfig, TrainingConfig
from pretrain.pretrain_run import build_datasets, run_pretraining
from pretrain.pretrained import load_pretrained
from pretrain.tokenizer import SPECIAL_TOKENS


def demo_config(corpus):
    return PretrainConfig(
        model="bert",
        preset="tiny",
        tokenizer=TokenizerConfig(vocabulary_size=8000),
        data=DataConfig(corpus=(corpus,), corpus_format="wikixml", seq_length=128, heldout_every=10),
        training=TrainingConfig(
            steps=1000, batch_size=16, learning_rate=1e-3, checkpoint_every=250, eval_batches=20
        ),
    )


def unigram_baseline_accuracy(output_dir):
    """Held-out accuracy of always guessing the most frequent training token."""
    tokenizer = load_pretrained(output_dir).tokenizer()
    data_dir = os.path.join(output_dir, "data")
    train_counts, _ = ngram_baselines.ngram_counts(os.path.join(data_dir, "train.txt"), tokenizer)
    heldout_counts, _ = ngram_baselines.ngram_counts(os.path.join(data_dir, "heldout.txt"), tokenizer)
    heldout_counts[: len(SPECIAL_TOKENS)] = 0  # [CLS]/[SEP] are never masked
    mode = ngram_baselines.most_frequent_token(train_counts)
    return float(heldout_counts[mode] / max(heldout_counts.sum(), 1))


def nsp_majority_baseline(config, output_dir):
    """Accuracy of always guessing the more common NSP label of the held-out batches."""
    tokenizer = load_pretrained(output_dir).tokenizer()
    data_dir = os.path.join(output_dir, "data")
    with open(os.path.join(data_dir, "split.json"), encoding="utf-8") as file:
        counts = json.load(file)["counts"]
    _, heldout = build_datasets(config, tokenizer, data_dir, counts, config.data.seed)
    labels = np.concatenate([np.array(y["nsp_labels"]) for _, y in heldout])
    return float(max(labels.mean(), 1.0 - labels.mean()))


def run_demo_pretraining(output_dir):
    """Pretrains the demo BERT into `output_dir`; returns and prints its held-out metrics."""
    from gensim.test.utils import datapath

    start = time.time()
    corpus = datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    config = demo_config(corpus)
    metrics = run_pretraining(config, output_dir)
    results = {
        "steps": int(metrics["step"]),
        "heldout_mlm_accuracy": float(metrics.get("val_mlm_accuracy", np.nan)),
        "heldout_mlm_accuracy_unigram_baseline": unigram_baseline_accuracy(output_dir),
        "heldout_nsp_accuracy": float(metrics.get("val_nsp_accuracy", np.nan)),
        "heldout_nsp_majority_baseline": nsp_majority_baseline(config, output_dir),
        "minutes": (time.time() - start) / 60,
    }
    print(
        f"\nPretrained a tiny BERT on the Wikipedia sample in {results['minutes']:.1f} min "
        f"({results['steps']} steps), held-out articles:\n"
        f"  masked-LM accuracy {results['heldout_mlm_accuracy']:.3f} "
        f"(unigram baseline {results['heldout_mlm_accuracy_unigram_baseline']:.3f})\n"
        f"  next-sentence accuracy {results['heldout_nsp_accuracy']:.3f} (chance 0.500, "
        f"majority label {results['heldout_nsp_majority_baseline']:.3f})\n"
        f"  model: {output_dir}/model.keras, encoder for fine-tuning: {output_dir}/backbone",
        flush=True,
    )
    return results
