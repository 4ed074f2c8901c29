"""The pretraining step of `make demo`: a tiny BERT on in-domain text, held-out masked-LM accuracy beside its baseline.

`run_demo_pretraining(corpus, corpus_format, output_dir)` runs the toolkit's
recipe at a size that fits a few minutes of 2 cores: skip-gram vectors of the
vocabulary's tokens start the token embedding (`--token-vectors skipgram`),
then whole-word masked-LM pretraining without next-sentence prediction. It
holds out one document in twenty and prints the held-out masked-LM accuracy
next to the unigram baseline (always guessing the most frequent token). On
the IMDB train half it is the same run as

    pretrain bert --corpus CORPORA/imdb/pretrain --corpus-format prose --output OUTPUT \\
        --preset tiny --steps 400 --batch-size 64 --seq-length 128 --vocab-size 8000 \\
        --learning-rate 1e-3 --masking whole-word --no-nsp --checkpoint-every 200 --eval-batches 10
"""

import logging
import os
import time

import numpy as np

from pretrain.objectives.pretrained import load_pretrained
from pretrain.runs import ngram_baselines
from pretrain.runs.pretrain_run import run_pretraining
from pretrain.text.tokenizer import SPECIAL_TOKENS
from pretrain.training.pretrain_config import BertPretrainConfig, BertDataConfig, TokenizerConfig, TrainingConfig

logger = logging.getLogger(__name__)

DEMO_STEPS = 400


def demo_config(corpus, corpus_format, steps=DEMO_STEPS):
    return BertPretrainConfig(
        preset="tiny",
        tokenizer=TokenizerConfig(vocabulary_size=8000),
        data=BertDataConfig(
            corpus=(corpus,), corpus_format=corpus_format, seq_length=128, masking="whole-word", nsp=False
        ),
        training=TrainingConfig(steps=steps, batch_size=64, learning_rate=1e-3, checkpoint_every=200, eval_batches=10),
    )


def unigram_baseline_accuracy(output_dir):
    """Held-out accuracy of always guessing the most frequent training token."""
    tokenizer = load_pretrained(output_dir).tokenizer()
    data_dir = os.path.join(output_dir, "data")
    train_counts = ngram_baselines.unigram_counts(os.path.join(data_dir, "train.txt"), tokenizer)
    heldout_counts = ngram_baselines.unigram_counts(os.path.join(data_dir, "heldout.txt"), tokenizer)
    heldout_counts[: len(SPECIAL_TOKENS)] = 0  # [CLS]/[SEP] are never masked
    mode = ngram_baselines.most_frequent_token(train_counts)
    return float(heldout_counts[mode] / max(heldout_counts.sum(), 1))


def run_demo_pretraining(corpus, corpus_format, output_dir, steps=DEMO_STEPS):
    """Pretrains the demo BERT on `corpus` into `output_dir`; returns and prints its held-out metrics."""
    start = time.time()
    metrics = run_pretraining(demo_config(corpus, corpus_format, steps), output_dir)
    results = {
        "corpus": corpus,
        "steps": int(metrics["step"]),
        "heldout_mlm_accuracy": float(metrics.get("val_mlm_accuracy", np.nan)),
        "heldout_mlm_accuracy_unigram_baseline": unigram_baseline_accuracy(output_dir),
        "minutes": (time.time() - start) / 60,
    }
    logger.info(
        f"\nPretrained a tiny BERT on {corpus} in {results['minutes']:.1f} min ({results['steps']} steps):\n"
        f"  held-out masked-LM accuracy {results['heldout_mlm_accuracy']:.3f} "
        f"(unigram baseline {results['heldout_mlm_accuracy_unigram_baseline']:.3f})\n"
        f"  model: {output_dir}/model.keras, encoder for fine-tuning: {output_dir}/backbone",
    )
    return results
