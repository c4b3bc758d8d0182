"""What reading Markdown as Markdown costs: building the index of 2,000 Markdown files.

    .venv/bin/python -m bench.loaders [--files 2000] [--repeat 2] [--only md|txt]
                                      [--baseline CHECKOUT]

Writes a deterministic folder of realistic documentation pages (front matter, headings,
paragraphs wrapped at 80 columns with inline code, links and emphasis, nested lists, code
fences with ``#`` comment lines, pipe tables, block quotes and Hugo notes) and builds the
index of it in this process: loading, chunking, tokenizing and BM25 (``build_index``),
once with the files as ``.md`` (the Markdown loader) and once with the same bytes as
``.txt`` (the plain text loader, which is how ``.md`` was read before the Markdown loader).
Times are CPU seconds of this process (best of ``--repeat``), so other work on the
machine disturbs them less than wall time would. Prints a Markdown table.

``--baseline CHECKOUT`` also builds the ``.md`` folder with the code of another checkout
(another process, its ``index`` first on the path): the build before the Markdown loader,
for instance, from ``git worktree add ../before <commit>``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bench.corpus import chunks


def _wrap(text: str, width: int = 80) -> str:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)


def _marked(sentence: str, rng: np.random.Generator) -> str:
    """A sentence with inline markup on a few of its words, as documentation has it."""
    words = sentence.split()
    for i in range(len(words)):
        roll = rng.random()
        word = words[i]
        if not word[-1:].isalnum():
            continue
        if roll < 0.04:
            words[i] = f"`{word}`"
        elif roll < 0.055:
            words[i] = f"**{word}**"
        elif roll < 0.065:
            words[i] = f"*{word}*"
        elif roll < 0.075:
            words[i] = f"[{word}](https://example.org/docs/{word}.html)"
    return " ".join(words)


def page(n: int, texts: Iterator[str], rng: np.random.Generator) -> str:
    """One documentation page of about 7 KB."""
    title = next(texts).split(".")[0][:40].strip()
    out = [f'---\ntitle: "{title}"\nweight: {n}\ndraft: false\n---\n', f"# {title}\n"]
    out.append(_wrap(_marked(next(texts), rng)) + "\n")
    for section in range(int(rng.integers(3, 6))):
        out.append(f"## {next(texts).split('.')[0][:50].strip()}\n")
        for _ in range(int(rng.integers(1, 3))):
            out.append(_wrap(_marked(next(texts), rng)) + "\n")
        kind = (n + section) % 5
        if kind == 0:
            items = [f"- {_marked(next(texts).split('.')[0], rng)}" for _ in range(4)]
            items.insert(2, f"  - {next(texts).split('.')[0]}")
            out.append("\n".join(items) + "\n")
        elif kind == 1:
            words = next(texts).lower().replace(".", "").split()
            code = [f"# {' '.join(words[:5])}", f"tool {words[0]} --{words[1]}={words[2]}"]
            code += [f'{w} = "{v}"' for w, v in zip(words[3:8], words[8:13])]
            out.append("```bash\n" + "\n".join(code) + "\n```\n")
        elif kind == 2:
            rows = ["| Option | Default | Meaning |", "| --- | --- | --- |"]
            for _ in range(4):
                words = next(texts).split()
                rows.append(f"| `{words[0].lower()}` | {words[1]} | {' '.join(words[2:9])} |")
            out.append("\n".join(rows) + "\n")
        elif kind == 3:
            out.append("{{% note %}}\n" + _wrap(_marked(next(texts), rng)) + "\n{{% /note %}}\n")
        else:
            quoted = _wrap(_marked(next(texts), rng), 78).replace("\n", "\n> ")
            out.append(f"> {quoted}\n")
        out.append(_wrap(_marked(next(texts), rng)) + "\n")
    return "\n".join(out)


def write_folder(root: Path, files: int, suffix: str) -> int:
    """Write the pages; returns their total size in bytes."""
    rng = np.random.default_rng(11)
    texts = chunks(files * 40, seed=5)
    size = 0
    for n in range(files):
        data = page(n, texts, rng).encode("utf-8")
        (root / f"page{n:05d}{suffix}").write_bytes(data)
        size += len(data)
    return size


def build_seconds(root: Path, repeat: int) -> tuple[float, int]:
    """Best CPU seconds of a whole build (load, chunk, index), and its chunk count."""
    from index.chunking import ChunkingConfig
    from index.retrieval import build_index

    best = float("inf")
    count = 0
    for _ in range(repeat):
        started = time.process_time()
        index = build_index(root, ChunkingConfig())
        best = min(best, time.process_time() - started)
        count = len(index.chunks)
    return best, count


_TIME_ELSEWHERE = """
import sys, time
from pathlib import Path
from index.chunking import ChunkingConfig
from index.retrieval import build_index
best, count = float("inf"), 0
for _ in range(int(sys.argv[2])):
    started = time.process_time()
    index = build_index(Path(sys.argv[1]), ChunkingConfig())
    best = min(best, time.process_time() - started)
    count = len(index.chunks)
print(best, count)
"""


def build_seconds_in(checkout: Path, root: Path, repeat: int) -> tuple[float, int]:
    """``build_seconds`` with the code of another checkout, in a process of its own."""
    env = {**os.environ, "PYTHONPATH": str(checkout.resolve())}
    done = subprocess.run(
        [sys.executable, "-c", _TIME_ELSEWHERE, str(root), str(repeat)],
        env=env, cwd=checkout, capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds, count = done.stdout.split()
    return float(seconds), int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="Markdown files in the folder")
    parser.add_argument("--repeat", type=int, default=2, help="builds per loader; the best counts")
    parser.add_argument("--only", choices=("md", "txt"), help="time one loader only")
    parser.add_argument(
        "--baseline", type=Path, help="also build the .md folder with this checkout's code"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for suffix, loader in ((".md", "Markdown loader (.md)"), (".txt", "plain text (.txt)")):
            if args.only and suffix != f".{args.only}":
                continue
            root = Path(tmp) / suffix.strip(".")
            root.mkdir()
            size = write_folder(root, args.files, suffix)
            seconds, count = build_seconds(root, args.repeat)
            rows.append((loader, seconds, count))
            if args.baseline and suffix == ".md":
                seconds, count = build_seconds_in(args.baseline, root, args.repeat)
                rows.append((f".md with the code in {args.baseline}", seconds, count))
            shutil.rmtree(root)
    print(f"{args.files:,} Markdown files, {size / 2**20:.1f} MB; CPU seconds of a whole build, "
          f"best of {args.repeat}\n")  # fmt: skip
    print("| read as | build s | chunks |")
    print("|---|---:|---:|")
    for loader, seconds, count in rows:
        print(f"| {loader} | {seconds:.2f} | {count:,} |")
    md = next((seconds for name, seconds, _ in rows if name.startswith("Markdown")), None)
    others = [(name, seconds) for name, seconds, _ in rows if not name.startswith("Markdown")]
    if md and others:
        print()
        for name, seconds in others:
            print(f"Markdown loader / {name}: {md / seconds:.2f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
