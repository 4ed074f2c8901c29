"""A MultiWorkerMirroredStrategy cluster on 127.0.0.1: one `pretrain` process per worker, each told its
place by TF_CONFIG."""

import json
import os
import socket
import subprocess
import sys
import tempfile

from tests.helpers.repo_root import REPO_ROOT


def free_ports(count):
    """`count` distinct TCP ports of 127.0.0.1 that were free a moment ago."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(arguments, log_dir, count=2):
    """Starts `pretrain ARGUMENTS` as `count` workers of one cluster; returns `[(process, log_path)]`, chief first.

    Each worker is `python -m cli ARGUMENTS` started in the repository root, with TF_CONFIG
    {"cluster": {"worker": [...]}, "task": {"type": "worker", "index": i}}; its stdout and stderr
    go together to `log_dir/worker-i.log`, a file, so a killed worker loses no line and a
    running one never blocks on a full pipe.
    """
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(count)]}
    workers = []
    for i in range(count):
        log_path = os.path.join(log_dir, f"worker-{i}.log")
        with open(log_path, "w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "cli", *arguments], cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                         TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})),
            )
        workers.append((process, log_path))
    return workers


def read_log(log_path):
    with open(log_path, encoding="utf-8", errors="replace") as log:
        return log.read()


def stop_workers(workers):
    """Kills the workers still running (after a timeout or a failed assertion)."""
    for process, _ in workers:
        if process.poll() is None:
            process.kill()
            process.wait()


def run_workers(arguments, count=2, timeout=600):
    """Runs `pretrain ARGUMENTS` as `count` workers of one cluster; returns their logs, chief first.

    Waits up to `timeout` seconds for each worker and fails the test, with the end of its log,
    when a worker exits with an error. Workers still running when the wait ends (a timeout, an
    interrupted test) are killed.
    """
    with tempfile.TemporaryDirectory(prefix="workers-") as log_dir:
        workers = start_workers(arguments, log_dir, count)
        try:
            for process, _ in workers:
                process.wait(timeout=timeout)
        finally:
            stop_workers(workers)
        logs = [read_log(log_path) for _, log_path in workers]
    for (process, _), log in zip(workers, logs):
        assert process.returncode == 0, log[-3000:]
    return logs
