"""The `pretrain` dispatcher: help for every subcommand, clean errors for bad input."""

import subprocess
import sys
import types

import pytest

import cli
from pretrain.errors import UsageError
from tests.helpers.repo_root import REPO_ROOT


def test_top_level_help_lists_every_command_without_importing_tensorflow():
    code = (
        "import sys, cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'tensorflow' not in sys.modules, 'pretrain --help imported TensorFlow'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert result.returncode == 0, result.stderr
    for name in cli.COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_documents_its_options(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert f"pretrain {name}" in text
    # Every option has a help text of its own.
    parser = cli.build_parser(name)
    sub = next(a for a in parser._actions if a.dest == "command").choices[name]
    for action in sub._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"pretrain {name} {action.option_strings[0]} has no help text"


def test_usage_error_is_printed_without_traceback(monkeypatch, capsys):
    def run(args):
        raise UsageError(f"--corpus {args.corpus}: no such file; pass a file, directory or glob")

    module = types.ModuleType("fake_command")
    module.__doc__ = "A command that always fails."
    module.add_arguments = lambda parser: parser.add_argument("--corpus", help="the corpus")
    module.run = run
    monkeypatch.setitem(sys.modules, "fake_command", module)
    monkeypatch.setitem(cli.COMMANDS, "fake", "fake_command")
    monkeypatch.setattr(cli, "_help_line", lambda module_name: "A command that always fails.")

    assert cli.main(["fake", "--corpus", "missing.txt"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "pretrain fake: error: --corpus missing.txt: no such file; pass a file, directory or glob"
    )
    assert "Traceback" not in err


def test_no_command_prints_help_and_fails(capsys):
    assert cli.main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_tensorflow_start_up_lines_are_hidden_and_other_output_is_kept(tmp_path, lee_corpus_path):
    env = {key: value for key, value in __import__("os").environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, "-c", "import sys, cli; sys.exit(cli.main(sys.argv[1:]))", "vocab", "--corpus",
               lee_corpus_path, "--output", str(tmp_path / "vocab"), "--vocab-size", "200"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    for noise in ("absl::InitializeLog", "oneDNN custom operations", "cuda drivers", "cuInit"):
        assert noise not in result.stderr
    assert "documents read" in result.stderr and "wrote" in result.stdout  # the command's own progress stays
    shown = subprocess.run(command[:-4] + ["--output", str(tmp_path / "again"), "--vocab-size", "200"],
                           capture_output=True, text=True, env=dict(env, TF_CPP_MIN_LOG_LEVEL="0"),
                           cwd=REPO_ROOT)
    assert "oneDNN custom operations" in shown.stderr  # a user who sets the level sees them all
