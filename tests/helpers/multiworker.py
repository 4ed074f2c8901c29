"""A MultiWorkerMirroredStrategy cluster on 127.0.0.1: one `pretrain` process per worker, each told its
place by TF_CONFIG."""

import json
import os
import socket
import subprocess
import sys

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


def run_workers(arguments, count=2, timeout=600):
    """Runs `pretrain ARGUMENTS` as `count` workers of one cluster; returns their logs, chief first.

    Each worker is `python -m cli ARGUMENTS` started in the repository root, with TF_CONFIG
    {"cluster": {"worker": [...]}, "task": {"type": "worker", "index": i}}; its log is its stdout
    and stderr together. Waits up to `timeout` seconds for each worker and fails the test, with
    the end of its log, when a worker exits with an error. Workers still running when the wait
    ends (a timeout, an interrupted test) are killed.
    """
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(count)]}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "cli", *arguments], cwd=REPO_ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                     TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})),
        )
        for i in range(count)
    ]
    try:
        logs = [worker.communicate(timeout=timeout)[0] for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    for worker, log in zip(workers, logs):
        assert worker.returncode == 0, log[-3000:]
    return logs
