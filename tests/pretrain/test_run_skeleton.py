"""The run skeleton refuses the run options an objective's recipe does not support, before any work."""

import pytest

from pretrain.errors import UsageError
from pretrain.objectives.elmo_pretrainer import ElmoPretrainConfig
from pretrain.objectives.seq2seq_pretrainer import Seq2SeqPretrainConfig
from pretrain.runs.elmo_run import run_elmo_pretraining
from pretrain.runs.seq2seq_run import run_seq2seq_pretraining


@pytest.mark.parametrize("run, config_class", [
    (run_seq2seq_pretraining, Seq2SeqPretrainConfig), (run_elmo_pretraining, ElmoPretrainConfig)
])
def test_one_process_objectives_refuse_a_strategy_and_init_from(run, config_class, tmp_path):
    defaults = config_class()
    model = defaults.model
    distributed = defaults.replace(training=defaults.training.replace(strategy="mirrored"))
    with pytest.raises(UsageError, match=f"--strategy mirrored: `pretrain {model}` trains in one process"):
        run(distributed, str(tmp_path / "a"))
    continued = defaults.replace(training=defaults.training.replace(init_from=str(tmp_path / "earlier")))
    with pytest.raises(UsageError, match=f"--init-from: `pretrain {model}` cannot start from an earlier run"):
        run(continued, str(tmp_path / "b"))
    assert not list(tmp_path.iterdir())  # refused before the output directory was made
