"""What a restart costs: ``docqa ask`` over a folder, first start, unchanged, one file edited.

    .venv/bin/python -m bench.restart [--files 2000] [--chunks-per-file 20]

Writes a deterministic folder of synthetic .txt files (the benchmark's text) into a
temporary directory, then times whole ``docqa ask`` processes, as a user would meet them:
the first start builds and saves the index, a restart over the unchanged folder loads it,
and a restart after one file changed re-reads only that file. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import chunks


def write_folder(root: Path, files: int, per_file: int) -> None:
    texts = chunks(files * per_file)
    for i in range(files):
        body = "\n\n".join(next(texts) for _ in range(per_file))
        (root / f"doc{i:05d}.txt").write_text(body + "\n", encoding="utf-8")


def timed_ask(root: Path, data: Path, cwd: Path) -> tuple[float, str]:
    """Seconds for one ``docqa ask`` process, and what it said about the index."""
    env = {**os.environ, "DOCQA_DATA_DIR": str(data), "DOCQA_LOG_LEVEL": "INFO"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "water river", "--docs", str(root), "--json"],
        capture_output=True, text=True, env=env, cwd=cwd, check=True,
    )
    seconds = time.perf_counter() - started
    said = [line for line in done.stderr.splitlines() if "index" in line]
    return seconds, said[-1].removeprefix("docqa: ") if said else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="documents in the folder")
    parser.add_argument("--chunks-per-file", type=int, default=20, help="paragraphs a file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, data = Path(tmp) / "docs", Path(tmp) / "data"
        root.mkdir()
        write_folder(root, args.files, args.chunks_per_file)
        # files written in the 2 s before a save are hashed again at the next start (their
        # timestamps cannot yet tell a later edit apart); a real folder is older than that
        time.sleep(2.5)
        size = sum(p.stat().st_size for p in root.iterdir()) / 2**20
        print(f"{args.files:,} files, {size:.1f} MB; each row is a whole `docqa ask` process\n")
        print("| start | wall s | what docqa said |")
        print("|---|---:|---|")
        for label in ("first start", "restart, nothing changed", "restart, one file edited"):
            if label.endswith("edited"):
                with (root / "doc00007.txt").open("a", encoding="utf-8") as f:
                    f.write("\nAn added paragraph about the river.\n")
            seconds, said = timed_ask(root, data, Path(tmp))
            print(f"| {label} | {seconds:.2f} | {said} |")


if __name__ == "__main__":
    main()
