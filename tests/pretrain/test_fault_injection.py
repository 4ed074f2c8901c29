"""Fault injection: `pretrain bert` killed (SIGKILL) at seeded random moments, among them during a checkpoint
write and during the export, and run again after each kill, finishes with the weights of a run never killed
(same data order, same dropout masks) and repeats at most one checkpoint interval of updates per kill. Two
workers: killing one stops the other with a one-line error within a bounded time, and both, run again, resume
from the last checkpoint.

The kills watch the output directory: TensorFlow writes a checkpoint into `ckpt-N_temp/` and records it in
`checkpoints/checkpoint` last; the exports are staged as `model.partial.keras` and `backbone.partial/`.
"""

import logging
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest
import tensorflow as tf

from pretrain.atomic_files import PARTIAL, PREVIOUS
from pretrain.objectives.pretrained import load_pretrained
from pretrain.text.corpus import read_documents
from pretrain.text.tokenizer import save_vocabulary, train_vocabulary
from tests.helpers.multiworker import read_log, run_workers, start_workers, stop_workers
from tests.helpers.pretrain_runs import write_lines_corpus
from tests.helpers.repo_root import REPO_ROOT

logger = logging.getLogger(__name__)  # the measurements: pytest --log-cli-level=INFO shows them
EVERY = 2  # updates per checkpoint
# BERT's vocabulary size: the token embedding and its optimizer slots make a checkpoint of 50 MB, whose write
# (40 to 140 ms) is long enough to be caught in the act, and they cost the tiny model's updates little.
VOCABULARY_SIZE = 30_000
POLL_SECONDS = 0.001  # a checkpoint's _temp directory lives for tens of milliseconds
ATTEMPT_SECONDS = 300


def run_arguments(corpus, vocabulary, output, steps):
    """A tiny run. A fixed vocabulary and a random token embedding: training either again after a kill
    before the first checkpoint would differ (tokenizers breaks frequency ties at random, the skip-gram
    start trains Hogwild), which is not what is under test."""
    return [
        "bert", "--corpus", corpus, "--output", output, "--preset", "tiny", "--steps", str(steps),
        "--batch-size", "4", "--seq-length", "32", "--vocab", vocabulary, "--token-vectors", "none",
        "--checkpoint-every", str(EVERY), "--eval-batches", "0",
    ]


def corpus_and_vocabulary(lee_corpus_path, directory, size):
    """The corpus and its vocabulary, grown to `size` tokens by `[unused]` ones (as BERT's has them)."""
    corpus = write_lines_corpus(lee_corpus_path, os.path.join(directory, "news.txt"))
    tokens = train_vocabulary(read_documents(corpus), 300)
    vocabulary = os.path.join(directory, "vocab.txt")
    save_vocabulary(tokens + [f"[unused{i}]" for i in range(size - len(tokens))], vocabulary)
    return corpus, vocabulary


class Attempt:
    """One `pretrain` process; stdout and stderr go to files, which a SIGKILL cannot cut short."""

    def __init__(self, arguments, log_prefix):
        self.log_prefix = log_prefix
        with open(log_prefix + ".out", "w") as out, open(log_prefix + ".err", "w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli", *arguments], cwd=REPO_ROOT, stdout=out, stderr=err,
                env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
            )

    def kill_when(self, happened):
        """SIGKILLs the process as soon as `happened()`; False if it ended first."""
        deadline = time.time() + ATTEMPT_SECONDS
        while self.process.poll() is None:
            if happened():
                self.process.send_signal(signal.SIGKILL)
                self.process.wait()
                return True
            if time.time() > deadline:
                self.process.kill()
                raise AssertionError(f"{self.log_prefix}: nothing to kill it at within {ATTEMPT_SECONDS} s")
            time.sleep(POLL_SECONDS)
        return False

    def finish(self):
        try:
            self.process.wait(timeout=ATTEMPT_SECONDS)
        finally:
            self.process.kill()
        assert self.process.returncode == 0, self.log("err")[-3000:]

    def log(self, stream):
        return read_log(f"{self.log_prefix}.{stream}")

    def resumed_from(self):
        found = re.search(r"Resuming from step (\d+)", self.log("err"))
        return int(found.group(1)) if found else 0


def recorded(checkpoint_dir):
    """Update counts of the checkpoints that `checkpoints/checkpoint` records as complete."""
    try:
        state = read_log(os.path.join(checkpoint_dir, "checkpoint"))
    except FileNotFoundError:
        return set()
    return {int(n) for n in re.findall(r'all_model_checkpoint_paths: "ckpt-(\d+)"', state)}


def on_disk(checkpoint_dir, suffix=r"(?:\.|_temp)"):
    """Update counts of the checkpoints with any file (or `_temp` directory) on disk."""
    names = os.listdir(checkpoint_dir) if os.path.isdir(checkpoint_dir) else []
    return {int(m.group(1)) for m in (re.match(rf"ckpt-(\d+){suffix}", name) for name in names) if m}


def moment(kind, output, resumed, steps, rng):
    """`(description, happened)` for a kill of `kind` in an attempt that resumes at update `resumed`."""
    checkpoints = os.path.join(output, "checkpoints")
    if kind == "checkpoint":  # the second write after the resume (or the last), so that each attempt progresses
        target = min(resumed + 2 * EVERY, steps)
        return f"while writing ckpt-{target}", lambda: target in on_disk(checkpoints, "_temp")
    if kind == "training":  # a random instant after the first checkpoint this attempt records (rounds: ~0.2 s)
        delay, fire_at = rng.uniform(0.0, 0.25), []

        def happened():
            if not fire_at and max(recorded(checkpoints), default=0) > resumed:
                fire_at.append(time.time() + delay)
            return bool(fire_at) and time.time() >= fire_at[0]

        return f"{delay:.2f} s after a checkpoint", happened
    staging = {"model.keras": "model" + PARTIAL + ".keras", "backbone": "backbone" + PARTIAL}[kind]
    return f"while exporting {kind}", lambda: os.path.exists(os.path.join(output, staging))


def killed_and_rerun(arguments, output, kinds, steps, seed, log_dir):
    """Runs and kills at each of `kinds`, then runs to the end; returns one dict per kill."""
    rng, kills, attempts, checkpoints = random.Random(seed), [], [], os.path.join(output, "checkpoints")
    for number, kind in enumerate(kinds):
        resumed = max(recorded(checkpoints), default=0)
        description, happened = moment(kind, output, resumed, steps, rng)
        attempts.append(Attempt(arguments, os.path.join(log_dir, f"attempt-{number}")))
        assert attempts[-1].kill_when(happened), f"attempt {number} ended before its kill {description}"
        assert attempts[-1].resumed_from() == resumed
        newest, written = max(recorded(checkpoints), default=0), max(on_disk(checkpoints), default=0)
        kills.append({
            "kind": kind, "moment": description, "newest": newest,
            "in_checkpoint_write": written not in recorded(checkpoints),
            "in_export": any(PARTIAL in name for name in os.listdir(output)),
            # Updates the killed attempt made, at most: training waits while a checkpoint is written.
            "reached": written if written not in recorded(checkpoints) else min(written + EVERY, steps),
        })
    attempts.append(Attempt(arguments, os.path.join(log_dir, "final")))
    attempts[-1].finish()
    assert f"Finished at step {steps}:" in attempts[-1].log("out")
    for kill, rerun in zip(kills, attempts[1:]):
        kill["resumed"] = rerun.resumed_from()
        kill["repeated"] = kill["reached"] - kill["resumed"]
    return kills


def uninterrupted(arguments, output, steps, log_dir):
    """A run never killed, in a thread; stopped once its last checkpoint is recorded (its export is not needed)."""
    attempt = Attempt(arguments, os.path.join(log_dir, "uninterrupted"))
    checkpoints = os.path.join(output, "checkpoints")
    thread = threading.Thread(target=attempt.kill_when, args=(lambda: steps in recorded(checkpoints),))
    thread.start()
    return thread, os.path.join(checkpoints, f"ckpt-{steps}")


def checkpoint_difference(path, reference_path):
    """The largest difference between two checkpoints' values (weights, optimizer slots, dropout seeds)."""
    ours, theirs = tf.train.load_checkpoint(path), tf.train.load_checkpoint(reference_path)
    names = set(ours.get_variable_to_shape_map()) - {"_CHECKPOINTABLE_OBJECT_GRAPH"}
    assert names == set(theirs.get_variable_to_shape_map()) - {"_CHECKPOINTABLE_OBJECT_GRAPH"}
    assert any(name.startswith("random_state/") for name in names), "the dropout random state is not saved"
    return max(float(np.max(np.abs(ours.get_tensor(n).astype(np.float64) - theirs.get_tensor(n)), initial=0))
               for n in names)


def export_difference(output, reference_checkpoint):
    """The largest difference between the weights of `output/model.keras` and those of the reference checkpoint."""
    model = load_pretrained(output).model
    exported = [weight.numpy() for weight in model.weights]
    tf.train.Checkpoint(model=model).restore(reference_checkpoint).expect_partial()
    return max(float(np.max(np.abs(a - weight.numpy()), initial=0)) for a, weight in zip(exported, model.weights))


def check_killed_run(tmp_path, lee_corpus_path, steps, kinds, seed):
    corpus, vocabulary = corpus_and_vocabulary(lee_corpus_path, str(tmp_path), VOCABULARY_SIZE)
    output, reference = str(tmp_path / "killed"), str(tmp_path / "uninterrupted")
    reference_thread, reference_checkpoint = uninterrupted(
        run_arguments(corpus, vocabulary, reference, steps), reference, steps, str(tmp_path)
    )
    try:
        kills = killed_and_rerun(run_arguments(corpus, vocabulary, output, steps), output, kinds, steps, seed,
                                 str(tmp_path))
    finally:
        reference_thread.join()
    assert os.path.isfile(reference_checkpoint + ".index"), "the uninterrupted run did not reach its last checkpoint"
    for kill in kills:
        assert kill["resumed"] == kill["newest"], kill  # the newest complete checkpoint, none lost
        assert 0 <= kill["repeated"] <= EVERY, kill
    assert kills[[k["kind"] for k in kills].index("checkpoint")]["in_checkpoint_write"], kills
    assert kills[-1]["in_export"], kills
    checkpoints = os.path.join(output, "checkpoints")
    differences = {
        "checkpoint": checkpoint_difference(os.path.join(checkpoints, f"ckpt-{steps}"), reference_checkpoint),
        "export": export_difference(output, reference_checkpoint),
    }
    logger.info(f"{len(kills)} kills survived: {kills}; largest differences from the uninterrupted run: {differences}")
    assert max(differences.values()) <= 1e-5, differences
    # Whole outputs, no staging left behind.
    with zipfile.ZipFile(os.path.join(output, "model.keras")) as saved:
        assert saved.testzip() is None
    assert os.path.isfile(os.path.join(output, "backbone", "saved_model.pb"))
    assert not [name for name in os.listdir(output) if PARTIAL in name or PREVIOUS in name]
    assert not on_disk(checkpoints, "_temp")


def test_a_run_killed_in_a_checkpoint_write_and_in_the_export_ends_as_if_never_killed(tmp_path, lee_corpus_path):
    check_killed_run(tmp_path, lee_corpus_path, 6, ["checkpoint", "model.keras"], 20)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4, 7])
def test_a_run_killed_at_many_random_moments_ends_as_if_never_killed(tmp_path, lee_corpus_path, seed):
    rng = random.Random(seed)
    middle = ["checkpoint", "checkpoint", "training", "training"]
    rng.shuffle(middle)
    kinds = middle + [rng.choice(["model.keras", "backbone"])]
    check_killed_run(tmp_path, lee_corpus_path, 20, kinds, seed)


STOP_SECONDS = 120  # TensorFlow aborts a collective at once when a peer's connection drops, else on its heartbeat


@pytest.mark.slow
@pytest.mark.parametrize("victim", [0, 1])  # the chief (also the coordination service's leader), the other
def test_killing_one_of_two_workers_stops_the_other_with_a_clear_error_and_both_resume(
    tmp_path, lee_corpus_path, victim
):
    corpus, vocabulary = corpus_and_vocabulary(lee_corpus_path, str(tmp_path), 300)
    output, steps, rng = str(tmp_path / "run"), 12, random.Random(victim)
    arguments = run_arguments(corpus, vocabulary, output, steps) + ["--strategy", "multi-worker"]
    checkpoints = os.path.join(output, "checkpoints")
    workers = start_workers(arguments, str(tmp_path), count=2)
    (survivor, survivor_log), (killed, _) = workers[1 - victim], workers[victim]
    try:
        deadline = time.time() + ATTEMPT_SECONDS
        while 2 * EVERY not in recorded(checkpoints):
            assert survivor.poll() is None and killed.poll() is None and time.time() < deadline
            time.sleep(POLL_SECONDS)
        time.sleep(rng.uniform(0.0, 0.5))  # a random instant of the next round
        killed.send_signal(signal.SIGKILL)
        killed_at = time.time()
        survivor.wait(timeout=STOP_SECONDS)  # a hang fails here
        stopped_after = time.time() - killed_at
    finally:
        stop_workers(workers)
    log = read_log(survivor_log)
    assert survivor.returncode == 2, log[-3000:]
    newest = max(recorded(checkpoints))
    assert re.search(
        r"pretrain bert: error: training stopped: (worker \d|another worker) of the cluster is gone \(.+\)\. "
        r"Start every worker again with the same command; "
        rf"the run resumes from its last checkpoint \(update {newest}\)",
        log,
    ), log[-3000:]
    assert "Traceback" not in log
    logger.info(f"worker {victim} killed; the other stopped {stopped_after:.1f} s later")

    logs = run_workers(arguments, count=2, timeout=ATTEMPT_SECONDS)
    for log in logs:
        assert f"Resuming from step {newest} " in log and f"Finished at step {steps}:" in log, log[-3000:]
    digests = [re.findall(rf"Weights after update {steps}: digest (\w+)", log) for log in logs]
    assert len(digests[0]) == 1 and digests[0] == digests[1], digests
