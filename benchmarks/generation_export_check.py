"""The fresh process of `benchmarks/generation.py`'s export check: load each side's SavedModel and run it.

Run by generation.py, not by hand:

    python benchmarks/generation_export_check.py BLOCKED EXPECTED.npz PATHS_JSON

BLOCKED: comma-separated modules made unimportable first (as if not installed: `import` raises
ImportError); EXPECTED.npz: the inputs and each side's outputs from the parent; PATHS_JSON:
`{"ours": DIR, "keras-hub": DIR}`. Prints one JSON line: per side, the ops its graph uses that
core TensorFlow does not define (tf-text's, say), whether it loaded and
whether each signature's output equals the parent's; and which blocked modules got imported.
"""

import importlib
import json
import sys


def block(modules):
    """Makes `modules` unimportable, as if not installed (`import` raises ImportError)."""
    for name in modules:
        sys.modules[name] = None


def unknown_ops(path):
    """The ops of the SavedModel at `path` that core TensorFlow does not define."""
    from tensorflow.core.protobuf import saved_model_pb2
    # Private: the registry of the ops this TensorFlow defines. `tf.raw_ops` is no substitute (it lacks the
    # XLA ops a traced decoding loop uses); if it moves, this script fails and tests/test_generation_benchmark.py
    # with it.
    from tensorflow.python.framework import op_def_registry

    model = saved_model_pb2.SavedModel()
    with open(path + "/saved_model.pb", "rb") as file:
        model.ParseFromString(file.read())
    graph = model.meta_graphs[0].graph_def
    nodes = list(graph.node) + [node for function in graph.library.function for node in function.node_def]
    return sorted({node.op for node in nodes if op_def_registry.get(node.op) is None})


def check_side(path, expected, side):
    """Whether the SavedModel at `path` loads and reproduces the parent's greedy and beam outputs."""
    import numpy as np
    import tensorflow as tf

    entry = {"unknown_ops": unknown_ops(path)}
    try:
        loaded = tf.saved_model.load(path)
        for signature in ("greedy", "beam"):
            out = loaded.signatures[signature](token_ids=tf.constant(expected["token_ids"]),
                                               prompt_mask=tf.constant(expected["prompt_mask"]))["token_ids"]
            entry[signature] = bool(np.array_equal(out.numpy(), expected[side + "_" + signature]))
        entry["loaded"] = True
    except Exception as error:  # reported, not raised: the verdict is the output
        entry.update(loaded=False, error=f"{type(error).__name__}: {error}"[:500])
    return entry


def main(blocked, expected_path, paths):
    block(blocked)
    import numpy as np

    expected = np.load(expected_path)
    report = {side: check_side(path, expected, side) for side, path in paths.items()}
    report["imported"] = sorted(name for name, module in sys.modules.items()
                                if module is not None and name.split(".")[0] in blocked)
    report["keras_hub_importable"] = importable("keras_hub")
    print(json.dumps(report))


def importable(module):
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main(sys.argv[1].split(","), sys.argv[2], json.loads(sys.argv[3]))
