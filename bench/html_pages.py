"""What reading HTML costs: loading and indexing a folder of HTML pages.

    .venv/bin/python -m bench.html_pages DIR [--repeat 2]

Reads every ``.html``, ``.htm`` and ``.xhtml`` file under DIR with docqa's HTML loader,
then builds the index of what loaded (chunking, tokenizing and BM25, ``build_index``).
Times are CPU seconds of this process (best of ``--repeat``), so other work on the
machine disturbs them less than wall time would. Prints a Markdown table.

To time another checkout's loader on the same pages (the code before a change, say):
``PYTHONPATH=../other .venv/bin/python bench/html_pages.py DIR``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from index.chunking import ChunkingConfig
from index.loaders import load_file
from index.models import Document
from index.retrieval import build_index

SUFFIXES = (".html", ".htm", ".xhtml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder of HTML pages")
    parser.add_argument("--repeat", type=int, default=2, help="runs; the best is shown")
    args = parser.parse_args(argv)
    root: Path = args.folder
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
    if not files:
        print(f"no HTML pages under {root}", file=sys.stderr)
        return 2
    size = sum(p.stat().st_size for p in files)
    best_load = best_build = float("inf")
    docs: list[Document] = []
    chunks = 0
    for _ in range(args.repeat):
        started = time.process_time()
        docs = [
            d
            for p in files
            if isinstance(d := load_file(root, p, p.relative_to(root).as_posix()), Document)
        ]
        loaded = time.process_time()
        chunks = len(build_index(root, ChunkingConfig(), documents=docs).chunks)
        built = time.process_time()
        best_load = min(best_load, loaded - started)
        best_build = min(best_build, built - started)
    print("| pages | MB | skipped | chunks | load s | load MB/s | load + chunk + index s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {len(files):,} | {size / 1e6:.1f} | {len(files) - len(docs)} | {chunks:,} "
        f"| {best_load:.1f} | {size / 1e6 / best_load:.2f} | {best_build:.1f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
