"""Python in a fresh interpreter that does not see this checkout, as a user of an exported SavedModel runs it.

`run_outside_checkout` runs a script there and returns its stdout; `serve_in_fresh_process`
sends TF Serving-style requests to a SavedModel there and returns its answers.
"""

import json
import os
import subprocess
import sys


def run_outside_checkout(code, *args, cwd, timeout=300):
    """Runs the Python source `code` with `args` in a fresh interpreter; returns its stdout.

    The interpreter starts in `cwd` (a directory outside the repository, e.g. `tmp_path`)
    with no PYTHONPATH, so it imports the project only if the script asks for it.
    Fails the test, with the end of stderr, when the script exits with an error.
    """
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    result = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def last_json_line(stdout):
    """The JSON value a fresh-process script printed last."""
    return json.loads(stdout.strip().splitlines()[-1])


SERVE_SCRIPT = r"""
import base64, json, sys
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

def graph_op_types(path):
    model = saved_model_pb2.SavedModel()
    with open(path + "/saved_model.pb", "rb") as file:
        model.ParseFromString(file.read())
    graph = model.meta_graphs[0].graph_def
    nodes = list(graph.node) + [node for function in graph.library.function for node in function.node_def]
    return sorted({node.op for node in nodes})

path, requests_path = sys.argv[1], sys.argv[2]
op_types = graph_op_types(path)
core_ops = [op for op in op_types if op_def_registry.get(op) is not None]
import tensorflow_text  # noqa: F401  (registers the tf-text ops)
text_ops = [op for op in op_types if op not in core_ops and op_def_registry.get(op) is not None]
unknown = [op for op in op_types if op not in core_ops and op not in text_ops]
assert not any(name in sys.modules for name in ("layers", "pretrain", "tasks", "saved_models"))

def to_tensors(instances):
    # TF Serving's REST "row" format: a list of {input name: value}; {"b64": ...} is bytes.
    def decode(value):
        return base64.b64decode(value["b64"]) if isinstance(value, dict) else value
    return {name: tf.constant([decode(instance[name]) for instance in instances]) for name in instances[0]}

def plain(value):
    # JSON has no bytes: string outputs, at any depth, come back as text.
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value.decode("utf-8") if isinstance(value, bytes) else value

loaded = tf.saved_model.load(path)
with open(requests_path) as file:
    requests = json.load(file)
answers = {
    signature: {name: plain(value.numpy().tolist()) for name, value in loaded.signatures[signature](
        **to_tensors(payload["instances"])).items()}
    for signature, payload in requests.items()
}
print(json.dumps({"answers": answers, "text_ops": text_ops, "unknown_ops": unknown}))
"""


def serve_in_fresh_process(saved_model_dir, requests, directory):
    """Answers of the SavedModel to TF Serving-style `requests`, from a process that imports only
    tensorflow and tensorflow_text.

    Args:
        saved_model_dir: the exported SavedModel.
        requests: {signature name: {"instances": [{input name: value}, ...]}}, TF Serving's
            REST "row" format; a value {"b64": base64 text} is sent as bytes.
        directory: a pathlib.Path outside the repository: the process's working directory,
            where the requests file is written.

    Returns:
        {"answers": {signature: {output name: nested lists, strings as text}},
         "text_ops": graph ops that tensorflow_text registers,
         "unknown_ops": graph ops neither TensorFlow nor tensorflow_text knows (TF Serving lacks them)}.
    """
    requests_path = directory / "requests.json"
    requests_path.write_text(json.dumps(requests))
    return last_json_line(run_outside_checkout(SERVE_SCRIPT, saved_model_dir, requests_path, cwd=directory))
