"""Runs a script of benchmarks/ the way a user does (`python benchmarks/X.py ...` from the checkout)."""

import os
import subprocess
import sys

from tests.helpers.repo_root import REPO_ROOT


def run_benchmark(script, *arguments, timeout=600):
    """The finished process of `python benchmarks/SCRIPT ARGUMENTS...`; fails with its stderr if it failed."""
    result = subprocess.run([sys.executable, os.path.join("benchmarks", script), *arguments], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=timeout,
                            env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    assert result.returncode == 0, result.stderr[-3000:]
    return result
