"""What one megabyte of text costs to index, for real pages and for hostile ones.

    .venv/bin/python -m bench.megabyte [--devdocs DIR] [--only NAME] [--size MB]

Writes each case as one file of about 1 MB (``--size``) in a temporary folder, beside a
tiny second file, and indexes the folder as a start does (``open_index`` with a fresh data
folder: load, chunk, tokenize, save). The real cases are the devdocs pages of each format
joined until they make 1 MB (plain text is the Markdown pages with their markup taken
out); the hostile ones repeat what makes a parser work hardest per byte. Prints a Markdown table: wall and CPU seconds of this
process, the chunks made, or the reason the file was skipped.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from index.chunking import ChunkingConfig
from index.store import open_index

MB = 2**20
SIZE = MB  # bytes a case is made of (--size)
ROOT = Path(__file__).resolve().parent.parent


def _joined(parts: list[str], sep: str = "\n\n") -> str:
    out: list[str] = []
    size = 0
    while parts and size < SIZE:
        for part in parts:
            out.append(part)
            size += len(part) + len(sep)
            if size >= SIZE:
                break
    return sep.join(out)


def real_cases(devdocs: Path) -> dict[str, Callable[[], str]]:
    def pages(folder: str, pattern: str) -> list[str]:
        return [p.read_text(encoding="utf-8", errors="replace") for p in sorted((devdocs / folder).glob(pattern))]

    def bodies() -> list[str]:
        found = [re.search(r"(?s)<body[^>]*>(.*)</body>", page) for page in pages("html", "*.htm*")]
        return [m.group(1) for m in found if m]

    return {
        "prose.txt": lambda: re.sub(r"[#*`>\[\]()_|-]", " ", _joined(pages("md", "*.md"))),
        "devdocs.md": lambda: _joined(pages("md", "*.md")),
        "devdocs.html": lambda: "<html><body>" + _joined(bodies(), "\n") + "</body></html>",
        "devdocs.rst": lambda: _joined(pages("rst", "*.rst")),
    }


HOSTILE: dict[str, Callable[[], str]] = {
    "Mr.txt": lambda: "Mr. " * (SIZE // 4),
    "authors.txt": lambda: ", ".join(f"A. B. Author{i}" for i in range(SIZE // 16)),
    "one-line.txt": lambda: " ".join(f"This is sentence {i}." for i in range(SIZE // 22)),
    "no-space.txt": lambda: "x" * SIZE,
    "lazy-quote.md": lambda: ">" * 60 + " deep\n" + "> a\n" * (SIZE // 4),
    "headings.md": lambda: "# a\n" * (SIZE // 4),
    "table.md": lambda: "| a | b |\n|---|---|\n" + "| x | y |\n" * (SIZE // 10),
    "emphasis.md": lambda: "*a **a " * (SIZE // 7),
    "brackets.md": lambda: "[" * SIZE,
    "lt.html": lambda: "</ " * (SIZE // 3),
    "paragraphs.html": lambda: "<p>word " * (SIZE // 8),
    "divs.html": lambda: "<div>" * (SIZE // 11) + "deep" + "</div>" * (SIZE // 11),
    "sections.rst": lambda: "".join(f"T{i}\n{'=-~^'[i % 4] * 5}\n\n" for i in range(SIZE // 12)),
    "attributes.adoc": lambda: ":a: ha\n" + ":a: {a}{a}\n" * 64 + "\n{a}\n",
}


def measure(name: str, text: str) -> str:
    top = Path(tempfile.mkdtemp(prefix="docqa-megabyte-"))
    try:
        (top / "docs").mkdir()
        (top / "docs" / name).write_text(text, encoding="utf-8")
        # a second, tiny file keeps the folder usable when the case is skipped, so its
        # reason comes from this one pass (not from reading the file again)
        (top / "docs" / "zz-other.txt").write_text("Another file.\n", encoding="utf-8")
        wall, cpu = time.perf_counter(), time.process_time()
        index, report = open_index(top / "docs", top / "data", ChunkingConfig())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        skipped = [s.reason for s in index.skipped if s.source == name]
        outcome = f"skipped: {skipped[0]}" if skipped else f"{report.chunks - 1:,} chunks"
        size = len(text.encode("utf-8")) / MB
        return f"| {name} | {size:.2f} | {wall:.2f} | {cpu:.2f} | {outcome} |"
    finally:
        shutil.rmtree(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devdocs", type=Path, default=Path("/work/shared/datasets/devdocs"))
    parser.add_argument("--only", action="append", help="run this case only (repeatable)")
    parser.add_argument("--size", type=float, default=1.0, help="MB of each case (default 1)")
    args = parser.parse_args()
    global SIZE
    SIZE = int(args.size * MB)
    cases = dict(real_cases(args.devdocs)) if args.devdocs.is_dir() else {}
    cases.update(HOSTILE)
    print("| file | MB | wall s | CPU s | indexed |")
    print("|---|---|---|---|---|")
    for name, make in cases.items():
        if args.only and name not in args.only:
            continue
        print(measure(name, make()), flush=True)


if __name__ == "__main__":
    main()
