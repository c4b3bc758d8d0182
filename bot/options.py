"""What every command shares: the ``--docs`` and ``-k`` options, settings from them, and
the live index the ask, REPL and Discord commands run on."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot.settings import Settings, load_settings
from index.live import LiveIndex
from index.retrieval import Engine
from index.store import open_index

log = logging.getLogger("docqa")


def positive_int(text: str) -> int:
    """An argparse type: a whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def add_docs_option(parser: argparse.ArgumentParser) -> None:
    """``--docs DIR``, the same for every command that reads the documents folder."""
    parser.add_argument(
        "--docs", type=Path, metavar="DIR", help="documents folder (default: DOCQA_DOCS_DIR or seeds/)"
    )


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings, with ``--docs`` and ``-k`` (when the command has them) on top."""
    return load_settings(docs_dir=getattr(args, "docs", None), k=getattr(args, "k", None))


def progress_tracker(show: bool):  # type: ignore[no-untyped-def]
    """Wraps the files being indexed in a progress bar on stderr when ``show``."""

    def track(items):  # type: ignore[no-untyped-def]
        if not show:
            return items
        from tqdm import tqdm

        return tqdm(items, desc="indexing", unit="file", leave=False, file=sys.stderr)

    return track


def build_live(settings: Settings, progress: bool | None = None) -> LiveIndex:
    """Open the saved index of ``settings.docs_dir`` (building or updating it as needed)
    and follow the folder for changes; notices and skipped files go to stderr."""
    show = sys.stderr.isatty() if progress is None else progress
    index, report = open_index(
        settings.docs_dir, settings.data_dir, settings.chunking(), track=progress_tracker(show)
    )
    for notice in report.notices:
        log.warning("%s", notice)
    log.info("%s", report.line())
    return LiveIndex(
        settings.docs_dir,
        settings.data_dir,
        settings.chunking(),
        settings.engine(),
        interval=settings.reindex_interval_s,
        initial=(index, report),
    )


def build_engine(settings: Settings, progress: bool | None = None) -> Engine:
    """The engine over ``settings.docs_dir``, from the saved index when it is current."""
    return build_live(settings, progress).current
