"""benchmarks/backend_speed.py at toy size: both backends train through the toolkit and report their speed."""

import os
import re
import subprocess
import sys

import pytest

from tests.helpers.repo_root import REPO_ROOT


@pytest.mark.slow
def test_backend_speed_reports_both_backends():
    command = [sys.executable, "benchmarks/backend_speed.py", "--preset", "tiny", "--batch-size", "4",
               "--seq-length", "16", "--vocab-size", "200", "--warmup", "2", "--updates", "3", "--repeats", "1"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
                            env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    assert result.returncode == 0, result.stderr[-3000:]
    for backend in ("tensorflow", "jax"):
        line = re.search(rf"^{backend}: ([\d.]+) updates/s, ([\d.]+) CPU-s per update$", result.stdout, re.M)
        assert line and float(line.group(1)) > 0 and float(line.group(2)) > 0, result.stdout
