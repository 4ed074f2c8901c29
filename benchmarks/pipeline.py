"""Pipeline benchmark: masked NSP examples/s at seq 128, and whether training waits for the pipeline.

Part 1 builds masked next-sentence examples (seq 128, 20 predictions, token
masking) from gensim's Wikipedia sample, both from the raw MediaWiki XML dump
(bz2 + XML + markup removal included) and from the same text extracted to
google-research/bert's one-sentence-per-line format (what its
create_pretraining_data.py reads). google-research/bert's script cannot run
here (TF1, not installed, no internet), so this script does not measure it:
the ratio it prints is against the anchored figure recorded on this machine in
/work/shared/reference/pretraining-anchors.md (7,390 instances in 11.5 s wall,
~640 instances/s, ~880/s without TF start-up, dupe_factor 1, one core). Our
examples per process CPU second are compared with the ~880/s, which excludes
start-up as our timing does and used one core.

Part 2 trains the mini BERT (`layers.BertEncoder.from_size("mini")` under
`pretrain.objectives.bert_pretrainer.BertPretrainer`) for the same number of steps twice:
fed by the streaming pipeline (masks drawn in the graph) and fed by the same
examples held in memory. The slowdown is streaming time / in-memory time - 1
(target: at most 5%).

Part 3 (`--compare-vocab`) times WordPiece training of 8,000 tokens with the
`tokenizers` package (ours) against keras-hub's compute_word_piece_vocabulary.

Run: .venv/bin/python benchmarks/pipeline.py [--steps 40] [--batch-size 32] [--repeats 2] [--compare-vocab]
"""

import argparse
import os
import resource
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402

from layers import BertEncoder  # noqa: E402
from pretrain.examples.bert_examples import bert_dataset  # noqa: E402
from pretrain.objectives.bert_pretrainer import BertPretrainer, features_to_inputs  # noqa: E402
from pretrain.text.corpus import read_documents  # noqa: E402
from pretrain.text.tokenizer import WordPieceTokenizer, train_vocabulary  # noqa: E402

WIKI = datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
# An anchor, not measured here: google-research/bert on one core, TF start-up excluded
# (/work/shared/reference/pretraining-anchors.md).
GOOGLE_ANCHORED_INSTANCES_PER_SECOND = 880
SEQ_LENGTH, MAX_PREDICTIONS = 128, 20


def examples_per_second(corpus, corpus_format, tokenizer):
    """(examples, wall seconds, process CPU seconds) for one pass over `corpus`."""
    dataset = bert_dataset(corpus, tokenizer, SEQ_LENGTH, MAX_PREDICTIONS, corpus_format=corpus_format, seed=1)
    started, cpu_started = time.perf_counter(), time.process_time()
    count = sum(int(tf.shape(b["input_ids"])[0]) for b in dataset.batch(256).prefetch(2))
    return count, time.perf_counter() - started, time.process_time() - cpu_started


class StepTimer(keras.callbacks.Callback):
    """Wall and process CPU time of the training steps after the first `warmup` (compilation)."""

    def __init__(self, warmup):
        super().__init__()
        self.warmup = warmup
        self.started = None

    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == self.warmup:
            self.started = time.perf_counter()
            self.cpu_started = time.process_time()

    def on_train_end(self, logs=None):
        self.seconds = time.perf_counter() - self.started
        self.cpu_seconds = time.process_time() - self.cpu_started


def train_seconds(dataset, vocabulary_size, steps, warmup):
    keras.utils.set_random_seed(0)
    backbone = BertEncoder.from_size("mini", vocabulary_size=vocabulary_size)
    model = BertPretrainer(backbone)
    model.compile(optimizer=keras.optimizers.AdamW(1e-4))
    timer = StepTimer(warmup)
    model.fit(dataset, steps_per_epoch=steps + warmup, epochs=1, verbose=0, shuffle=False, callbacks=[timer])
    return timer.seconds, timer.cpu_seconds


def compare_training(corpus, tokenizer, steps, batch_size, repeats, warmup=3):
    """Best-of-`repeats` (wall, CPU) seconds for in-memory and streaming runs, alternated."""

    def streaming():
        dataset = bert_dataset(corpus, tokenizer, SEQ_LENGTH, MAX_PREDICTIONS, seed=2).repeat()
        return dataset.batch(batch_size, drop_remainder=True).map(features_to_inputs).prefetch(tf.data.AUTOTUNE)

    held = list(streaming().take(steps + warmup))
    in_memory = tf.data.Dataset.from_tensor_slices(
        tf.nest.map_structure(lambda *parts: tf.stack(parts), *held)
    ).cache()
    memory_seconds, streaming_seconds = [], []
    for _ in range(repeats):
        memory_seconds.append(train_seconds(in_memory, tokenizer.vocabulary_size, steps, warmup))
        streaming_seconds.append(train_seconds(streaming(), tokenizer.vocabulary_size, steps, warmup))
    return min(memory_seconds), min(streaming_seconds)  # (wall, CPU) pairs, best wall


def compare_vocabulary(documents):
    started = time.perf_counter()
    ours = train_vocabulary(documents, 8000)
    ours_seconds = time.perf_counter() - started
    import keras_hub

    sentences = tf.data.Dataset.from_tensor_slices([s for d in documents for s in d])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    theirs = keras_hub.tokenizers.compute_word_piece_vocabulary(
        sentences, 8000, reserved_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    )
    theirs_seconds = time.perf_counter() - started
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"vocabulary 8,000: tokenizers {ours_seconds:.1f} s ({len(ours)} tokens); keras-hub "
          f"compute_word_piece_vocabulary {theirs_seconds:.1f} s ({len(theirs)} tokens, "
          f"peak RSS +{growth:.0f} MB): {theirs_seconds / ours_seconds:.0f}x slower")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed training steps per run")
    parser.add_argument("--batch-size", type=int, default=32, help="training batch size")
    parser.add_argument("--repeats", type=int, default=2, help="alternated runs of each; the best is kept")
    parser.add_argument("--compare-vocab", action="store_true", help="also time keras-hub's vocabulary trainer")
    args = parser.parse_args()

    documents = list(read_documents(WIKI, "wikixml"))
    tokenizer = WordPieceTokenizer(train_vocabulary(documents, 8000))
    folder = tempfile.mkdtemp()
    lines = os.path.join(folder, "wiki.txt")
    with open(lines, "w", encoding="utf-8") as file:
        file.writelines("\n".join(d) + "\n\n" for d in documents)
    print(f"Wikipedia sample: {len(documents)} articles, {sum(map(len, documents))} sentences")

    for name, corpus, corpus_format in [("raw XML dump", WIKI, "wikixml"), ("one sentence per line", lines, "lines")]:
        count, seconds, cpu_seconds = examples_per_second(corpus, corpus_format, tokenizer)
        rate, cpu_rate = count / seconds, count / cpu_seconds
        print(f"masked NSP examples, seq {SEQ_LENGTH}, from the {name}: {count} in {seconds:.1f} s = "
              f"{rate:.0f}/s; {cpu_seconds:.1f} CPU s = {cpu_rate:.0f} per CPU second "
              f"({cpu_rate / GOOGLE_ANCHORED_INSTANCES_PER_SECOND:.2f}x google-research/bert's anchored "
              f"~{GOOGLE_ANCHORED_INSTANCES_PER_SECOND}/s on one core from pretraining-anchors.md, "
              f"not measured in this run)")

    (memory_wall, memory_cpu), (streaming_wall, streaming_cpu) = compare_training(
        lines, tokenizer, args.steps, args.batch_size, args.repeats
    )
    print(f"mini BERT, {args.steps} steps of batch {args.batch_size}, best of {args.repeats}: "
          f"in memory {memory_wall:.1f} s, streaming pipeline {streaming_wall:.1f} s, slowdown "
          f"{100 * (streaming_wall / memory_wall - 1):+.1f}% (target <= 5%); process CPU "
          f"{memory_cpu:.1f} s vs {streaming_cpu:.1f} s ({100 * (streaming_cpu / memory_cpu - 1):+.1f}%)")
    if args.compare_vocab:
        compare_vocabulary(documents)


if __name__ == "__main__":
    main()
