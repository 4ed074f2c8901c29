"""Fine-tuning settings chosen from the backbone and the data, for every option the user leaves unset.

BERT's fine-tuning recipe (learning rate 2e-5..5e-5, 2-4 epochs, the `[CLS]`
pooler) was made for a 768-wide backbone pretrained for a million updates. On
the small backbones a CPU pretrains it does not learn: a tiny backbone at
5e-5 for 2 epochs predicts the majority class (issue 18). The rule:

- **learning rate** `5e-5 * 768 / hidden_dim`: BERT-base keeps 5e-5, BERT-small
  (512) gets 7.5e-5, mini (256) 1.5e-4, tiny (128) 3e-4. Narrow layers have
  small weights whose updates must be relatively larger to move them at the
  same pace (the same scaling as muP's hidden-width learning rates).
- **epochs**: BERT-base keeps BERT's 3. Smaller backbones get enough passes for
  at least `MIN_UPDATES` optimizer updates, between 3 and `MAX_EPOCHS`: 10
  epochs for 1,000 examples at batch 32, 4 for 4,000, 3 from 6,400 up.
- **warmup**: the first 10% of the updates, then linear decay to zero (BERT).
- **pooling**: the `[CLS]` pooler only when next-sentence prediction trained it;
  otherwise (a `--no-nsp` run, a GPT-style run, or unknown) the mean of the
  token outputs, since an untrained pooler is a random projection.
- **sequence length**: long enough for 90% of the training texts (token count
  of a sample, plus `[CLS]`/`[SEP]`), a multiple of 32, at least 32 and at most
  `MAX_SEQ_LENGTH` or the backbone's positions, whichever is smaller.

Any value set in the `FinetuneConfig` (a flag of `pretrain finetune`) is kept.

Example:

>>> facts = BackboneFacts(hidden_dim=128, max_sequence_length=512, pooler_trained=False)
>>> settings = recommended_settings(facts, train_examples=1000, batch_size=32)
>>> settings["learning_rate"], settings["epochs"], settings["pooling"]
(0.0003, 10, 'mean')
>>> recommended_settings(BackboneFacts(768, 512, True), 100_000, 32)["epochs"]
3
"""

import dataclasses
import math

import numpy as np

BERT_BASE_HIDDEN_DIM = 768
BERT_LEARNING_RATE = 5e-5
BERT_EPOCHS = 3
WARMUP_FRACTION = 0.1
MIN_UPDATES = 300
MIN_EPOCHS = 3
MAX_EPOCHS = 10
MAX_SEQ_LENGTH = 256  # a CPU-sized default; --seq-length goes up to the backbone's positions
LENGTH_QUANTILE = 0.9
LENGTH_SAMPLE = 2000


@dataclasses.dataclass(frozen=True)
class BackboneFacts:
    """What the rule needs to know of a pretrained backbone."""

    hidden_dim: int
    max_sequence_length: int
    pooler_trained: bool  # False when unknown


def learning_rate_for(hidden_dim):
    """5e-5 at BERT-base's width, scaled by 768 / hidden_dim."""
    return float(f"{BERT_LEARNING_RATE * BERT_BASE_HIDDEN_DIM / hidden_dim:.2g}")


def epochs_for(hidden_dim, train_examples, batch_size):
    """BERT's 3 for BERT-base and wider; else enough for `MIN_UPDATES` updates, within 3..10."""
    if hidden_dim >= BERT_BASE_HIDDEN_DIM:
        return BERT_EPOCHS
    updates_per_epoch = math.ceil(train_examples / batch_size)
    return min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(MIN_UPDATES / updates_per_epoch)))


def seq_length_for(token_counts, max_sequence_length):
    """The multiple of 32 that holds `LENGTH_QUANTILE` of the texts (+2 special tokens), capped."""
    cap = min(MAX_SEQ_LENGTH, max_sequence_length)
    if not len(token_counts):
        return cap
    needed = float(np.quantile(np.asarray(token_counts), LENGTH_QUANTILE)) + 2
    return int(min(cap, max(32, 32 * math.ceil(needed / 32))))


def recommended_settings(facts, train_examples, batch_size, token_counts=()):
    """The rule above as a dict of `FinetuneConfig` fields."""
    return {
        "learning_rate": learning_rate_for(facts.hidden_dim),
        "epochs": epochs_for(facts.hidden_dim, train_examples, batch_size),
        "warmup_fraction": WARMUP_FRACTION,
        "pooling": "cls" if facts.pooler_trained else "mean",
        "seq_length": seq_length_for(token_counts, facts.max_sequence_length),
    }


def token_counts_of(tokenizer, texts, pairs=None):
    """WordPiece counts of up to `LENGTH_SAMPLE` texts (a pair counts both sides and one more `[SEP]`)."""
    texts = list(texts)[:LENGTH_SAMPLE]
    counts = tokenizer.tokenize_flat(texts).row_lengths().numpy()
    if pairs is not None:
        counts = counts + tokenizer.tokenize_flat(list(pairs)[:LENGTH_SAMPLE]).row_lengths().numpy() + 1
    return counts


def fill_unset(config, facts, train_examples, token_counts=()):
    """`config` with each field that is None replaced by the rule's value; returns (config, filled names)."""
    recommended = recommended_settings(facts, train_examples, config.batch_size, token_counts)
    filled = {name: value for name, value in recommended.items() if getattr(config, name) is None}
    return dataclasses.replace(config, **filled), sorted(filled)
