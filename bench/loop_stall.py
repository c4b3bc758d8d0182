"""How long the Discord bot's event loop stalls while its index is rebuilt.

    .venv/bin/python -m bench.loop_stall [--files 2000] [--paragraphs-per-file 114] [--gc-on]

The bot answers on one asyncio event loop and rebuilds the index in a thread (the folder
poller, ``/reindex``). Whatever that thread does without letting go of the interpreter
(a full garbage-collection pass, one long C call) stops the loop: no gateway heartbeat,
no answers. This writes a deterministic folder of synthetic .txt files (about 200k chunks
at the defaults, the benchmark's text), opens its index, then runs two rebuilds the way
the bot runs them (``bot.discord.rebuilds.off_loop``: a daemon thread, the collector
paused) while a 5 ms timer on the loop measures how late it fires: an update after one
file changed, and a rebuild from nothing (the saved index deleted). ``--gc-on`` runs the
same rebuilds with the collector left on, as the bot did before. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.corpus import write_folder
from bot.discord.rebuilds import off_loop
from index.chunking import ChunkingConfig
from index.live import LiveIndex

TICK = 0.005


async def stalls_during(work: Callable[[], Awaitable[object]]) -> tuple[float, list[float]]:
    """Seconds ``work`` took, and how late each 5 ms tick of the loop fired meanwhile."""
    late: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(TICK)
            late.append(time.perf_counter() - started - TICK)

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    await work()
    seconds = time.perf_counter() - started
    done.set()
    await ticker
    return seconds, late


def row(label: str, chunks: int, seconds: float, late: list[float]) -> str:
    longest = max(late, default=0.0) * 1000
    over = sum(1 for lag in late if lag >= 0.1)
    return f"| {label} | {chunks:,} | {seconds:.1f} | {longest:.0f} | {over} |"


async def measure(root: Path, data: Path, gc_on: bool) -> list[str]:
    live = LiveIndex(root, data, ChunkingConfig(), interval=0)
    chunks = len(live.current.index.chunks)

    def rebuild() -> Awaitable[object]:
        if gc_on:
            return asyncio.to_thread(live.check, True)
        return off_loop(live.check, True)

    rows = []
    _, idle = await stalls_during(lambda: asyncio.sleep(1))
    rows.append(row("idle, 1 s", chunks, 1.0, idle))
    with (root / "doc00007.txt").open("a", encoding="utf-8") as f:
        f.write("\nAn added paragraph about the river.\n")
    seconds, late = await stalls_during(rebuild)
    rows.append(row("update: one file changed", len(live.current.index.chunks), seconds, late))
    shutil.rmtree(data)
    seconds, late = await stalls_during(rebuild)
    rows.append(row("rebuild from nothing", len(live.current.index.chunks), seconds, late))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="documents in the folder")
    parser.add_argument(
        "--paragraphs-per-file", type=int, default=114, help="paragraphs a file (about 0.87 chunks each)"
    )
    parser.add_argument(
        "--gc-on", action="store_true", help="leave the garbage collector on during rebuilds"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, data = Path(tmp) / "docs", Path(tmp) / "data"
        root.mkdir()
        write_folder(root, args.files, args.paragraphs_per_file)
        time.sleep(2.5)  # past the 2 s in which a file's timestamp cannot be trusted
        rows = asyncio.run(measure(root, data, args.gc_on))
    how = "the collector left on (--gc-on)" if args.gc_on else "as the bot runs them (collector paused)"
    print(f"Event-loop stalls during rebuilds, {how}; Python {platform.python_version()}, {sys.platform}\n")
    print("| rebuild | chunks | seconds | longest stall ms | stalls ≥ 100 ms |")
    print("|---|---:|---:|---:|---:|")
    for line in rows:
        print(line)


if __name__ == "__main__":
    main()
