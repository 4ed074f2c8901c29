"""The SavedModel exports of a run, made in a TensorFlow process when the run trains on another Keras backend.

A SavedModel holds TensorFlow graphs, which only the TensorFlow backend traces. `export_run_model`
calls the export (`EXPORTS`) on the trained model's backbone directly on TensorFlow; on JAX it starts
`python -m saved_models.tensorflow_process` with `KERAS_BACKEND=tensorflow`, which loads the
`model.keras` the run saved in its output directory and exports from it. The export's arguments
travel as JSON. A failed export raises one `UsageError` line with the child's last error line;
`model.keras` and the checkpoints stay as they are, and running the same command again retries the
export.

Example (in a run, after `model.save("OUTPUT/model.keras")`):

    export_run_model("backbone", model, "OUTPUT", output_dir="OUTPUT/backbone",
                     vocabulary_path="OUTPUT/vocab.txt", tokenizer_options={"lowercase": True})
"""

import json
import logging
import os
import re
import subprocess
import sys

import keras

from pretrain.errors import UsageError
from pretrain.objectives.pretrained import PRETRAINER_CLASSES
from pretrain.objectives.elmo_pretrainer import ElmoPretrainer
from pretrain.objectives.seq2seq_pretrainer import Seq2SeqPretrainer
from saved_models.backbone_export import export_backbone
from saved_models.seq2seq_export import export_seq2seq

logger = logging.getLogger(__name__)
# The exports a run makes, each `(backbone, **arguments)`.
EXPORTS = {"backbone": export_backbone, "seq2seq": export_seq2seq}
# The pretraining models a run's model.keras may hold.
MODEL_CLASSES = dict(PRETRAINER_CLASSES, Seq2SeqPretrainer=Seq2SeqPretrainer, ElmoPretrainer=ElmoPretrainer)
# Where `python -m saved_models.tensorflow_process` finds this project.
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def export_run_model(export, model, run_dir, **arguments):
    """Runs `EXPORTS[export](model.backbone, **arguments)`, in a TensorFlow process from
    `run_dir/model.keras` (the saved `model`) when this process's Keras backend is not TensorFlow."""
    if keras.backend.backend() == "tensorflow":
        EXPORTS[export](model.backbone, **arguments)
        return
    model_path = os.path.join(run_dir, "model.keras")
    logger.info(f"Exporting {arguments.get('output_dir', export)} from {model_path} in a TensorFlow process")
    environment = dict(os.environ, KERAS_BACKEND="tensorflow")
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [PROJECT_ROOT, os.environ.get("PYTHONPATH")]))
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    result = subprocess.run(
        [sys.executable, "-m", "saved_models.tensorflow_process", export, model_path, json.dumps(arguments)],
        env=environment, capture_output=True, text=True,
    )
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {result.returncode}"
        reason = re.sub(r"^pretrain\.errors\.UsageError: ", "", reason)
        raise UsageError(
            f"the {export} export of {model_path} failed in its TensorFlow process ({reason[:300]}); "
            "model.keras and the checkpoints are kept: run the same command again to retry the export"
        )


def export_saved_model(export, model_path, arguments):
    """Loads `model_path` and runs `EXPORTS[export]` on its backbone (in the TensorFlow process)."""
    model = keras.saving.load_model(model_path, compile=False, custom_objects=MODEL_CLASSES)
    EXPORTS[export](model.backbone, **arguments)


if __name__ == "__main__":
    export_saved_model(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
