"""Builds and loads the fused word2vec training op (`kernels/word2vec_kernels.cc`).

The op is compiled once with g++ against the installed TensorFlow's headers
into a cache directory (`~/.cache/pretraining_toolkit/`, or
`$PRETRAIN_KERNEL_CACHE`), under a name keyed by a hash of the source, the
TensorFlow version and the compiler flags, so a new TensorFlow or an edited
source builds a new library. A file lock makes concurrent builders (pytest-xdist
workers, several trainings) wait for one build; the library is written to a
temporary name and renamed into place. If g++ is missing or the build fails,
`load_word2vec_kernel()` warns once with the compiler's first error line and
returns None, and the trainer keeps its TensorFlow path.

Example (three words, one skip-gram pair each way, one negative draw):

>>> import numpy as np
>>> kernels = load_word2vec_kernel()
>>> input_table = tf.Variable(np.full((3, 4), 0.1, np.float32))
>>> output_table = tf.Variable(np.zeros((3, 4), np.float32))
>>> loss, pairs = kernels.word2vec_train_batch(
...     input_table.handle, output_table.handle, tokens=[0, 1], documents=[0, 0], valid=[True, True],
...     negative_cumulative=np.array([1, 2, 3], np.int64), learning_rate=0.025, seed=np.int64(1),
...     window=1, negative=1, skipgram=True, num_slices=1)
>>> float(pairs), bool(np.abs(output_table.numpy()).sum() > 0)
(2.0, True)
"""

import fcntl
import functools
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import time
import warnings

import tensorflow as tf

logger = logging.getLogger(__name__)

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels", "word2vec_kernels.cc")
CACHE_ENVIRONMENT_VARIABLE = "PRETRAIN_KERNEL_CACHE"
TYPICAL_BUILD_SECONDS = 30  # measured on the 2-core build machine


class KernelBuildError(RuntimeError):
    """The compiler is missing or rejected the source; the message is its first error line."""


def cache_directory():
    default = os.path.join(os.path.expanduser("~"), ".cache", "pretraining_toolkit")
    return os.environ.get(CACHE_ENVIRONMENT_VARIABLE) or default


def cpu_flags():
    """-mavx2 -mfma when this CPU has both (never -march=native: the cache may move to another CPU)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            features = set(cpuinfo.read().split())
    except OSError:
        return []
    return ["-mavx2", "-mfma"] if {"avx2", "fma"} <= features else []


def compiler_command(output_path):
    return (["g++", "-shared", "-fPIC", "-O3", "-fopenmp-simd", "-Wno-deprecated-declarations"] + cpu_flags()
            + tf.sysconfig.get_compile_flags() + [SOURCE, "-o", output_path] + tf.sysconfig.get_link_flags())


def library_path():
    """Where the library for this source, TensorFlow version and flag set lives."""
    with open(SOURCE, "rb") as source:
        key = hashlib.sha256(source.read())
    key.update(tf.__version__.encode())
    key.update(" ".join(compiler_command("")).encode())
    return os.path.join(cache_directory(), f"word2vec_kernels-{key.hexdigest()[:16]}.so")


def first_error_line(output):
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["no compiler output"])[0]


def build_library(path):
    """Compile into a temporary file beside `path`, then rename it into place."""
    if shutil.which("g++") is None:
        raise KernelBuildError("g++ not found on PATH")
    logger.info(f"building the fused word2vec kernel (once, ~{TYPICAL_BUILD_SECONDS} s)")
    handle, temporary = tempfile.mkstemp(suffix=".so", dir=os.path.dirname(path))
    os.close(handle)
    try:
        started = time.perf_counter()
        result = subprocess.run(compiler_command(temporary), capture_output=True, text=True)
        if result.returncode != 0:
            raise KernelBuildError(first_error_line(result.stderr + result.stdout))
        os.replace(temporary, path)
        logger.info(f"built {path} in {time.perf_counter() - started:.0f} s")
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def built_library():
    """The library's path, building it under a file lock if no process has yet."""
    path = library_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not os.path.exists(path):
            build_library(path)
    return path


@functools.lru_cache(maxsize=None)
def load_word2vec_kernel():
    """The loaded op module (with `word2vec_train_batch`), or None after one warning if it cannot be built."""
    try:
        return tf.load_op_library(built_library())
    except (KernelBuildError, OSError, tf.errors.NotFoundError) as error:
        warnings.warn(f"fused word2vec kernel unavailable, using the TensorFlow path: {error}", stacklevel=2)
        return None
