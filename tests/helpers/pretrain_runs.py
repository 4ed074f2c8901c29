"""Small real corpora and CLI options of pretraining runs that finish in seconds (tests/pretrain)."""

import os
import re


def write_lines_corpus(lee_corpus_path, path, documents=12):
    """The first `documents` Lee news stories in the lines format (sentence per line)."""
    with open(lee_corpus_path, encoding="utf-8") as source:
        stories = [line.strip() for line in source if line.strip()][:documents]
    with open(path, "w", encoding="utf-8") as corpus:
        for story in stories:
            sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", story)
            corpus.write("\n".join(sentences) + "\n\n")
    return path


def tiny_run_arguments(corpus, output, steps=4):
    """CLI options of a run that finishes in seconds."""
    return [
        "--corpus", corpus, "--output", output, "--preset", "tiny", "--steps", str(steps),
        "--batch-size", "4", "--seq-length", "32", "--vocab-size", "300",
        "--checkpoint-every", "2", "--eval-batches", "1", "--heldout-every", "4",
    ]


def output_files(output):
    return sorted(os.listdir(output))
