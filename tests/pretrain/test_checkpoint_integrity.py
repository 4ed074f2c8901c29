"""Checkpoints that survive damage, and runs that train longer: a damaged newest checkpoint is skipped with a
warning, none restorable is one clear error, and a larger --steps continues a finished run without a second
warmup while every other changed option is still refused."""

import json
import os

import pytest

import cli
from pretrain.training.optimizer import resumed_schedule, warmup_linear_decay, warmup_updates
from pretrain.training.pretrain_config import TrainingConfig
from tests.helpers.pretrain_runs import tiny_run_arguments, write_lines_corpus


@pytest.fixture
def corpus(tmp_path, lee_corpus_path):
    return write_lines_corpus(lee_corpus_path, str(tmp_path / "news.txt"))


def _run(corpus, output, steps, *extra):
    return cli.main(["bert", *tiny_run_arguments(corpus, output, steps=steps), "--no-nsp", *extra])


def _truncate(output, step):
    """Cuts checkpoint `step`'s data file to half its size, as a full disk or a copy cut short would."""
    directory = os.path.join(output, "checkpoints")
    [name] = [n for n in os.listdir(directory) if n.startswith(f"ckpt-{step}.data")]
    path = os.path.join(directory, name)
    with open(path, "r+b") as file:
        file.truncate(os.path.getsize(path) // 2)
    return path


def _metrics(output):
    with open(os.path.join(output, "metrics.json"), encoding="utf-8") as file:
        return json.load(file)


def test_a_damaged_newest_checkpoint_is_skipped_with_a_warning(corpus, tmp_path, capsys):
    output = str(tmp_path / "run")
    assert _run(corpus, output, 4) == 0  # checkpoints at updates 2 and 4
    damaged = _truncate(output, 4)
    capsys.readouterr()
    assert _run(corpus, output, 6) == 0
    err = capsys.readouterr().err
    assert f"checkpoint {damaged.split('.data')[0]} cannot be restored" in err
    assert "Resuming from step 2" in err and "the newest checkpoint that restores" in err
    assert _metrics(output)["step"] == 6


def test_when_no_checkpoint_restores_the_error_names_them_and_what_to_do(corpus, tmp_path, capsys):
    output = str(tmp_path / "run")
    assert _run(corpus, output, 4) == 0
    paths = [_truncate(output, step).split(".data")[0] for step in (2, 4)]
    capsys.readouterr()
    assert _run(corpus, output, 6) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("pretrain bert: error: no checkpoint in ") and all(path in err for path in paths)
    assert "delete that directory to start the run over, or choose a new --output" in err


def test_keep_checkpoints_bounds_the_checkpoints_on_disk(corpus, tmp_path):
    output = str(tmp_path / "run")
    assert _run(corpus, output, 8, "--keep-checkpoints", "2") == 0
    kept = sorted(n.split(".")[0] for n in os.listdir(os.path.join(output, "checkpoints")) if n.endswith(".index"))
    assert kept == ["ckpt-6", "ckpt-8"]


def test_a_finished_run_trains_longer_with_a_larger_steps_and_keeps_its_warmup(corpus, tmp_path, capsys):
    output = str(tmp_path / "run")
    assert _run(corpus, output, 4, "--warmup-fraction", "0.5") == 0  # 2 warmup updates
    capsys.readouterr()
    assert _run(corpus, output, 8, "--warmup-fraction", "0.5") == 0
    assert "Resuming from step 4" in capsys.readouterr().err
    assert _metrics(output)["step"] == 8
    with open(os.path.join(output, "config.json"), encoding="utf-8") as file:
        training = TrainingConfig(**json.load(file)["training"])
    assert (training.steps, warmup_updates(training)) == (8, 2)  # no second warmup over 4 updates
    # Any other change is still refused, naming it.
    assert _run(corpus, output, 10, "--learning-rate", "5e-4") == 2
    assert "training.learning_rate: 0.0001 in the checkpoint, 0.0005 now" in capsys.readouterr().err


def test_the_resumed_schedule_keeps_the_warmup_and_retargets_the_decay():
    saved = TrainingConfig(steps=100, warmup_fraction=0.1, learning_rate=1e-3)
    longer = resumed_schedule(saved.replace(steps=1000), saved)
    assert warmup_updates(longer) == 10
    rates = [float(warmup_linear_decay(step, 1e-3, warmup_updates(longer), 1000)) for step in (9, 100, 999, 1000)]
    assert rates[0] == pytest.approx(1e-3)  # the peak, where the saved run had it
    assert rates[1] == pytest.approx(1e-3 * 900 / 991)  # on the new decay line, which ends at update 1,000
    assert rates[2] > 0 and rates[3] == 0
    assert resumed_schedule(saved, saved) is saved
