"""The `pretrain` command line.

Each subcommand lives in its own module that defines `add_arguments(parser)`
and `run(args) -> int`; its module docstring's first line is the help text.
Modules are imported only when their subcommand runs, so `pretrain --help`
answers without starting TensorFlow.
"""

import argparse
import ast
import importlib
import importlib.util
import logging
import os
import re
import sys
import tempfile
import warnings

# Subcommand name -> module that implements it (top of the stack: the CLI may
# import every package, none of them imports the CLI).
COMMANDS = {
    "demo": "pretrain.commands.demo",
    "bert": "pretrain.commands.bert",
    "electra": "pretrain.commands.electra",
    "gpt": "pretrain.commands.gpt",
    "seq2seq": "pretrain.commands.seq2seq",
    "elmo": "pretrain.commands.elmo",
    "vocab": "pretrain.commands.vocab",
    "examples": "pretrain.commands.examples",
    "corpus": "pretrain.commands.corpus",
    "word2vec": "pretrain.commands.word2vec",
    "glove": "pretrain.commands.glove",
    "fasttext": "pretrain.commands.fasttext",
    "finetune": "pretrain.commands.finetune",
    "export": "pretrain.commands.export",
}

# Commands that never import TensorFlow.
QUIET_COMMANDS = ("corpus",)


def _help_line(module_name):
    """The first line of the module's docstring, read without importing the module (nor TensorFlow)."""
    spec = importlib.util.find_spec(module_name)
    with open(spec.origin, encoding="utf-8") as source:
        docstring = ast.get_docstring(ast.parse(source.read())) or ""
    return docstring.splitlines()[0] if docstring else ""


def build_parser(command=None):
    """The argument parser; only `command`'s module is imported, if given."""
    parser = argparse.ArgumentParser(
        prog="pretrain",
        description="Pretrain language models and word vectors on your corpus, "
        "fine-tune them and export them for TF Serving.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if name == command:
            module = importlib.import_module(module_name)
            sub = subparsers.add_parser(
                name,
                help=_help_line(module_name),
                description=module.__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            module.add_arguments(sub)
            sub.set_defaults(run=module.run)
        else:
            subparsers.add_parser(name, help=_help_line(module_name), add_help=False)
    return parser


# TensorFlow's start-up lines that tell a user nothing: the absl notice, oneDNN and CPU-feature
# notices, and the CUDA probe on a machine without a GPU.
_START_UP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog|[IWE]\d{4} [\d:. ]+\d+ "
    r"(port|cudart_stub|cpu_feature_guard|cuda_platform|cuda_executor|cuda_dnn|cuda_fft|cuda_blas)\.cc"
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)


# Python-level lines of the same kind: SavedModel export notices and Keras's warning about the
# [CLS] pooler of a model trained without next-sentence prediction (it is unused, so it has no gradient).
_EXPORT_NOTICE = re.compile(r"contains input name\(s\) .* with unsupported characters|^Assets written to")
_UNUSED_POOLER = r"Gradients do not exist for variables \['pooled_dense/kernel', 'pooled_dense/bias'\]"


class _DropExportNotices(logging.Filter):
    def filter(self, record):
        return not _EXPORT_NOTICE.search(record.getMessage())


# The toolkit's loggers, shown at INFO: what a run is doing. Other libraries' stay at WARNING.
PROJECT_LOGGERS = ("pretrain", "tasks", "saved_models", "layers")


class _CurrentStderr(logging.StreamHandler):
    """Writes each record to the `sys.stderr` of the moment, so a redirected or captured stream gets it."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def configure_logging():
    """Library code logs; a command shows the toolkit's INFO lines on stderr, one message per line."""
    root = logging.getLogger()
    if not any(isinstance(handler, _CurrentStderr) for handler in root.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def import_tensorflow_quietly():
    """Imports TensorFlow and finds its devices with the C++ start-up lines filtered out.

    Those lines are written to file descriptor 2 before TF_CPP_MIN_LOG_LEVEL
    applies, so they are caught there; every other line is passed on. Set
    TF_CPP_MIN_LOG_LEVEL yourself (e.g. 0) to see them all.
    """
    if "tensorflow" in sys.modules or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        caught.seek(0)
        lines = caught.read().decode("utf-8", "replace").splitlines(keepends=True)
    sys.stderr.write("".join(line for line in lines if not _START_UP_NOISE.match(line)))
    tf.get_logger().addFilter(_DropExportNotices())
    logging.getLogger("absl").addFilter(_DropExportNotices())
    warnings.filterwarnings("ignore", message=_UNUSED_POOLER)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    configure_logging()
    if args.command not in QUIET_COMMANDS:
        import_tensorflow_quietly()
    from pretrain.errors import UsageError

    try:
        return args.run(args) or 0
    except UsageError as error:
        print(f"pretrain {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
