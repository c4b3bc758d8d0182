"""What reading PDFs costs: docqa's PDF loader over every PDF of a folder.

    .venv/bin/python -m bench.pdf [FOLDER]    # default: ../shared/datasets/devdocs/pdf

Loads each file as the index does (``load_file``: the bomb check, PDFium, cleaning,
blocks), best of three, and prints a Markdown table: pages, display characters, blocks,
headings and seconds per file.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from index.loaders import PAGE_BREAK, load_file
from index.models import Document

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "devdocs" / "pdf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    args = parser.parse_args()
    print("| file | pages | characters | blocks | headings | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    total = 0.0
    for path in sorted(args.folder.glob("*.pdf")):
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            doc = load_file(args.folder, path, path.name)
            best = min(best, time.perf_counter() - started)
        total += best
        if not isinstance(doc, Document):
            print(f"| {path.name} | skipped: {doc.reason} | | | | {best:.2f} |")
            continue
        pages = doc.text.count(PAGE_BREAK) + 1
        headings = sum(1 for b in doc.blocks if b.is_heading)
        print(
            f"| {path.name} | {pages} | {len(doc.text):,} | {len(doc.blocks)} | {headings} "
            f"| {best:.2f} |"
        )
    print(f"| total | | | | | {total:.2f} |")


if __name__ == "__main__":
    main()
