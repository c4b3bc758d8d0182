"""``docqa index build|status|clear``: the saved index from the command line.

``bot.cli`` registers these with ``register(subparsers)``; each handler reads
the settings, calls ``index.store`` and prints (results on stdout, notices on stderr).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TypeVar

from bot.options import add_docs_option, progress_tracker
from bot.settings import Settings, load_settings
from index.store import IndexStore, index_status, open_index

T = TypeVar("T")


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(docs_dir=args.docs, data_dir=args.data_dir)


def cmd_build(args: argparse.Namespace) -> int:
    """Bring the saved index up to date (only added and changed files are read)."""
    settings = _settings(args)
    _, report = open_index(
        settings.docs_dir,
        settings.data_dir,
        settings.chunking(),
        track=progress_tracker(sys.stderr.isatty()),
        full=args.full,
    )
    if not report.saved and report.action != "loaded":
        # the one thing this command is for did not happen: say why, in one line
        problem = next((n for n in report.notices if n.startswith("could not save")), None)
        print(f"docqa: {problem or 'the index could not be saved'}", file=sys.stderr)
        return 1
    for notice in report.notices:
        print(f"docqa: {notice}", file=sys.stderr)
    print(report.line())
    for label, names in (
        ("added", report.changes.added),
        ("changed", report.changes.changed),
        ("removed", report.changes.removed),
    ):
        if names and report.action == "updated":
            print(f"  {label}: {', '.join(names)}")
    if report.skipped:
        n = len(report.skipped)
        print(f"  skipped: {n} file{'s' if n != 1 else ''} (docqa index status lists them)")
    return 0


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


def _age(seconds: float) -> str:
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= length:
            value = int(seconds // length)
            break
    else:
        unit, value = "second", int(seconds)
    return f"{value} {unit}{'' if value == 1 else 's'} ago"


def cmd_status(args: argparse.Namespace) -> int:
    """Show the saved index: documents, skipped files and why, chunks, segments, size on
    disk, age and stale files (exit status 1 when there is no usable index)."""
    settings = _settings(args)
    status = index_status(settings.docs_dir, settings.data_dir, settings.chunking())
    if not status.exists:
        print(f"no saved index of {settings.docs_dir} in {settings.data_dir}: run docqa index build")
        return 1
    print(f"index of {settings.docs_dir}: {status.path}")
    if status.problem is not None:
        print(f"unusable: {status.problem} (docqa index build rebuilds it)")
        return 1
    created = status.created or time.time()
    built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created))
    n_skipped = len(status.skipped)
    print(f"documents: {status.documents} ({n_skipped} file{'' if n_skipped == 1 else 's'} skipped)")
    for source, reason in status.skipped:
        print(f"  skipped {source}: {reason}")
    segments = f"{status.segments} segment{'' if status.segments == 1 else 's'}"
    print(f"chunks: {status.chunks} in {segments} ({status.deleted} deleted chunks kept until a merge)")
    print(f"size on disk: {_size(status.size_bytes)}")
    print(f"built: {built} ({_age(time.time() - created)})")
    changes = status.changes
    if not changes.stale:
        print("stale files: none (up to date)")
        return 0
    print(f"stale files: {changes.summary()} (the next start or docqa index build updates it)")
    for mark, names in (("+", changes.added), ("~", changes.changed), ("-", changes.removed)):
        for name in names:
            print(f"  {mark} {name}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Check every byte of the saved index against its checksums (exit status 1 when a
    file is damaged; the next start or docqa index build --full rebuilds it)."""
    settings = _settings(args)
    store = IndexStore(settings.data_dir, settings.docs_dir)
    if not store.exists():
        print(f"no saved index of {settings.docs_dir} in {settings.data_dir}: run docqa index build")
        return 1
    problems = store.verify()
    if problems:
        for problem in problems:
            print(f"docqa: damaged: {problem}", file=sys.stderr)
        return 1
    print(f"ok: every file of {store.path} matches its checksums")
    return 0


def cmd_clear(args: argparse.Namespace) -> int:
    """Delete the saved index of the documents folder (the next start rebuilds it)."""
    settings = _settings(args)
    store = IndexStore(settings.data_dir, settings.docs_dir)
    try:
        removed = store.clear()
    except OSError as exc:
        print(
            f"docqa: could not remove the saved index {store.path} ({exc.strerror or exc})",
            file=sys.stderr,
        )
        return 1
    if removed:
        print(f"removed the saved index of {settings.docs_dir} ({store.path})")
    else:
        print(f"no saved index of {settings.docs_dir} in {settings.data_dir}")
    return 0


def register(subparsers: Any) -> None:
    """Register ``docqa index ...`` on the CLI's subparsers."""
    index = subparsers.add_parser(
        "index",
        help="build, inspect or delete the saved index",
        description="The saved index (in DOCQA_DATA_DIR, default .docqa/) lets docqa start "
        "without re-reading unchanged documents.",
    )
    actions = index.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    commands = (
        ("build", cmd_build), ("status", cmd_status), ("verify", cmd_verify), ("clear", cmd_clear)
    )
    for name, handler in commands:
        action = actions.add_parser(name, help=handler.__doc__, description=handler.__doc__)
        add_docs_option(action)
        action.add_argument(
            "--data-dir", type=Path, metavar="DIR", help="data folder (default: DOCQA_DATA_DIR or .docqa/)"
        )
        if name == "build":
            action.add_argument(
                "--full", action="store_true", help="rebuild from scratch instead of updating"
            )
        action.set_defaults(func=handler)
