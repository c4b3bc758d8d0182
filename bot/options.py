"""What every command shares: the ``--docs`` and ``-k`` options, settings from them, and
the live index the ask, REPL and Discord commands run on."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot.settings import Settings, load_settings
from index.errors import NoDocumentsError
from index.live import LiveIndex
from index.loaders import SUPPORTED
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


def int_between(low: int, high: int):  # type: ignore[no-untyped-def]
    """An argparse type: a whole number from ``low`` to ``high``, so a flag's bad value
    is blamed on the flag (not on the setting it stands for)."""

    def parse(text: str) -> int:
        value = positive_int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high} (got {value})")
        return value

    return parse


def add_k_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``-k N``, passages per question, 1 to 100 as DOCQA_K allows."""
    parser.add_argument("-k", type=int_between(1, 100), metavar="N", help=help)


def add_docs_option(parser: argparse.ArgumentParser) -> None:
    """``--docs DIR``, the same for every command that reads the documents folder."""
    parser.add_argument(
        "--docs", type=Path, metavar="DIR",
        help="documents folder (default: DOCQA_DOCS_DIR, else seeds/ in the project folder)",
    )


def settings_from(args: argparse.Namespace, adapter: str | None = None) -> Settings:
    """The settings, with ``--docs`` and ``-k`` (when the command has them) on top: those
    ``bot.cli.main`` read (``args.settings``), else read now."""
    read = getattr(args, "settings", None)
    if isinstance(read, Settings):
        return read
    return load_settings(
        adapter, docs_dir=getattr(args, "docs", None), k=getattr(args, "k", None)
    )


def check_docs_dir(docs_dir: Path) -> None:
    """Raise NoDocumentsError, saying what to do, when ``docs_dir`` is not a folder."""
    shown = str(docs_dir) if docs_dir.is_absolute() else f"{docs_dir} ({docs_dir.absolute()})"
    if docs_dir.is_dir():
        return
    if docs_dir.exists():
        raise NoDocumentsError(
            f"documents folder {shown} is a file, not a folder: point --docs (or "
            "DOCQA_DOCS_DIR) at the folder that holds your documents"
        )
    raise NoDocumentsError(
        f"documents folder {shown} does not exist: create it and add {SUPPORTED} files, "
        "or point --docs (or DOCQA_DOCS_DIR) at another folder"
    )


def progress_tracker(show: bool, desc: str = "indexing", unit: str = "file"):  # type: ignore[no-untyped-def]
    """Wraps the items (files being indexed) in a progress bar on stderr when ``show``;
    while it runs, docqa's log lines (a skipped file) are written above the bar, not over
    it."""

    def track(items):  # type: ignore[no-untyped-def]
        if not show:
            return items
        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        def tracked():  # type: ignore[no-untyped-def]
            with logging_redirect_tqdm([log]):
                yield from tqdm(items, desc=desc, unit=unit, leave=False, file=sys.stderr)

        return tracked()

    return track


def load_semantic(settings: Settings):  # type: ignore[no-untyped-def]
    """The embedder of ``DOCQA_SEMANTIC_MODEL`` when ``DOCQA_SEMANTIC`` is on, else None
    (raises SemanticError, a DocqaError, when it cannot be had). Only here is the model
    runtime imported."""
    if not settings.semantic:
        return None
    from index.semantic.model import load_embedder

    return load_embedder(settings.semantic_model)


def build_live(settings: Settings, progress: bool | None = None) -> LiveIndex:
    """Open the saved index of ``settings.docs_dir`` (building or updating it as needed)
    and follow the folder for changes; notices and skipped files go to stderr."""
    check_docs_dir(settings.docs_dir)
    show = sys.stderr.isatty() if progress is None else progress
    embedder = load_semantic(settings)
    index, report = open_index(
        settings.docs_dir, settings.data_dir, settings.chunking(), track=progress_tracker(show),
        embedder=embedder, embed_track=progress_tracker(show, "embedding", "chunk"),
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
        embedder=embedder,
    )


def build_engine(settings: Settings, progress: bool | None = None) -> Engine:
    """The engine over ``settings.docs_dir``, from the saved index when it is current."""
    return build_live(settings, progress).current
