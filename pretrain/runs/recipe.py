"""What one pretraining objective gives the run skeleton (`pretrain.runs.run.run_objective`): a `Recipe`.

A recipe says what the skeleton cannot know: the model an objective trains
(`build_model`), the batches it trains and is evaluated on (`datasets`) and
what its run exports beside `model.keras` (`export`). The other hooks have
defaults that most objectives keep. Its flags say which run options it
supports; the skeleton refuses the others. `Workspace` tells the hooks where
the run reads and writes and which worker they run on.

Example:

>>> workspace = Workspace("runs/gpt", "runs/gpt", chief=True)
>>> workspace.data_dir, workspace.log_dir, workspace.num_workers
('runs/gpt/data', 'runs/gpt/logs', 1)
>>> Recipe().vocabulary(None, ["[PAD]", "the"])
['[PAD]', 'the']
>>> from pretrain.objectives.elmo_pretrainer import ElmoPretrainConfig
>>> tokenizer_options(ElmoPretrainConfig())
{'lowercase': True, 'strip_accents': True}
"""

import dataclasses
import json
import os

from pretrain.errors import UsageError


@dataclasses.dataclass(frozen=True)
class Workspace:
    """Where a run reads and writes, and which worker runs it.

    Attributes:
        output_dir: str. OUTPUT, written by the chief only.
        work_dir: str. Holds `data/` (the corpus split) and `logs/`: OUTPUT on the chief, a scratch
            directory on another worker of a multi-worker run.
        chief: bool. Whether this worker writes OUTPUT.
        worker_index: int. This worker's share of the documents, of `num_workers` (the chief's is 0).
        num_workers: int. The workers that share the documents.
    """

    output_dir: str
    work_dir: str
    chief: bool = True
    worker_index: int = 0
    num_workers: int = 1

    @property
    def data_dir(self):
        return os.path.join(self.work_dir, "data")

    @property
    def log_dir(self):
        return os.path.join(self.work_dir, "logs")


def tokenizer_options(config):
    """The `WordPieceTokenizer` options of a run's `config` (an export's text preprocessing takes them too)."""
    return {"lowercase": config.tokenizer.lowercase, "strip_accents": config.tokenizer.strip_accents}


class Recipe:
    """One objective's part of a pretraining run; subclass it and give `build_model`, `datasets` and `export`.

    Attributes:
        distributed: bool. The run may use `--strategy mirrored` or `multi-worker`: its datasets shard the
            documents across workers (`Workspace.worker_index`).
        continues_runs: bool. `--init-from DIR` may start the run from the weights of an earlier run of the
            objective (`pretrain.runs.continued_pretraining`; `load_pretrained` must read that run).
        resume_hint: str. How a refused resume is told to repeat the options the run started with
            (`{config_path}` is its `config.json`).
    """

    distributed = False
    continues_runs = False
    resume_hint = "rerun it with the options in {config_path}"

    def saved_config(self, path):
        """The `to_dict()` of the config a resumed run started with, read from its `config.json` at `path`."""
        try:
            with open(path, encoding="utf-8") as file:
                return json.load(file)
        except OSError as error:
            raise UsageError(f"cannot read config {path}: {error.strerror}; choose a new --output") from None
        except json.JSONDecodeError as error:
            raise UsageError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None

    def minimum_train_documents(self, config):
        """The training documents the objective needs, and what to do with fewer (None: one suffices)."""
        return 1, None

    def vocabulary(self, config, tokens):
        """The model's vocabulary from the WordPiece tokens given or trained (they themselves by default)."""
        return list(tokens)

    def build_model(self, config, tokens):
        """The uncompiled pretraining model for the vocabulary `tokens`; its sub-layer `backbone` is exported."""
        raise NotImplementedError

    def start_weights(self, model, config, tokenizer, workspace):
        """Sets the starting weights of a new run that continues no other (default: the initialisation)."""

    def datasets(self, config, tokenizer, counts, workspace):
        """`(train, heldout)`: endless training batches `(x, y)` from the first one on, the same on every
        call, and a fixed set of held-out batches (or None). `counts` are the split's document counts."""
        raise NotImplementedError

    def prepare_export(self, model):
        """Changes the trained model as `model.keras` and the export should hold it (default: none)."""

    def export(self, model, config, output_dir):
        """Writes the objective's exports of the trained model (e.g. a SavedModel) into `output_dir`."""
        raise NotImplementedError
