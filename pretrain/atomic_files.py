"""Outputs a kill cannot leave half written: each is written beside its final place and moved in at the end.

`atomic_directory(path)` yields a staging directory (`path.partial`); when the block ends without an
error, the previous `path` (if any) steps aside to `path.previous`, the staging directory becomes `path`
and `path.previous` is removed. An error (or a kill) inside the block leaves `path` as it was. Renames
within one directory are atomic on POSIX file systems; the one instant between the two renames is covered
by `recover(path)`, which every writer calls first: a `path.previous` without `path` is moved back.
`atomic_file(path)` does the same for one file with a single atomic `os.replace`.

Example:

>>> import os, tempfile
>>> root = tempfile.mkdtemp()
>>> with atomic_directory(os.path.join(root, "export")) as staging:
...     _ = open(os.path.join(staging, "saved_model.pb"), "w").write("one")
>>> sorted(os.listdir(root))
['export']
>>> try:
...     with atomic_directory(os.path.join(root, "export")) as staging:
...         raise RuntimeError("killed halfway")
... except RuntimeError:
...     pass
>>> open(os.path.join(root, "export", "saved_model.pb")).read()
'one'
"""

import contextlib
import os
import shutil

from pretrain.errors import UsageError

PARTIAL = ".partial"
PREVIOUS = ".previous"


def recover(path):
    """Moves `path.previous` back to `path` if a kill fell between an atomic directory's two renames."""
    previous = path + PREVIOUS
    if os.path.isdir(previous):
        if os.path.exists(path):
            shutil.rmtree(previous)
        else:
            os.rename(previous, path)


@contextlib.contextmanager
def atomic_directory(path, replaces="saved_model.pb"):
    """Yields a staging directory that becomes `path` when the block ends without an error.

    An existing `path` is replaced only if it is empty or holds the file `replaces` (an earlier export);
    any other directory is refused, so a mistyped `--output` never deletes a user's files.
    """
    path = os.path.normpath(path)
    recover(path)
    if os.path.isdir(path) and os.listdir(path) and not os.path.exists(os.path.join(path, replaces)):
        raise UsageError(f"{path} exists and is not an earlier export (no {replaces}); choose a new directory")
    if os.path.isfile(path):
        raise UsageError(f"{path} is a file; give a directory")
    staging = path + PARTIAL
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = path + PREVIOUS
    if os.path.exists(path):
        os.rename(path, previous)
    os.rename(staging, path)
    shutil.rmtree(previous, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(path):
    """Yields a temporary path beside `path` (same extension) that replaces `path` when the block succeeds."""
    stem, extension = os.path.splitext(path)
    staging = f"{stem}{PARTIAL}{extension}"
    try:
        yield staging
    except BaseException:
        if os.path.exists(staging):
            os.remove(staging)
        raise
    os.replace(staging, path)
