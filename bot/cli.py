"""The ``docqa`` command: builds settings → documents → index → engine, then runs one
adapter (ask, repl, and the subcommands other modules register)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings, SettingsError, load_settings
from bot.terminal import answer_json, format_answer
from index.errors import DocqaError, QuestionError
from index.live import LiveIndex
from index.retrieval import Engine
from index.store import open_index

log = logging.getLogger("docqa")


def _tracker(show: bool):  # type: ignore[no-untyped-def]
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
        settings.docs_dir, settings.data_dir, settings.chunking(), track=_tracker(show)
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


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(docs_dir=getattr(args, "docs", None), k=getattr(args, "k", None))


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question and print the cited passages."""
    settings = _settings(args)
    engine = build_engine(settings, progress=False if args.json else None)
    answer = engine.ask(args.question)
    if args.json:
        print(json.dumps(answer_json(answer), ensure_ascii=False))
    else:
        print(format_answer(answer, color=sys.stdout.isatty()))
    return 0


def cmd_repl(args: argparse.Namespace) -> int:
    """Ask questions one after another; :help lists the commands."""
    from bot.repl import Repl

    settings = _settings(args)
    live = build_live(settings)
    return Repl(live.current, settings, live=live).run()


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


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docqa",
        description="Ask questions of a folder of documents; get short, verbatim, cited answers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ask = sub.add_parser("ask", help=cmd_ask.__doc__, description=cmd_ask.__doc__)
    ask.add_argument("question", help="the question, in quotes")
    add_docs_option(ask)
    ask.add_argument("-k", type=positive_int, metavar="N", help="passages to show (default 5)")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead")
    ask.set_defaults(func=cmd_ask)

    repl = sub.add_parser("repl", help=cmd_repl.__doc__, description=cmd_repl.__doc__)
    add_docs_option(repl)
    repl.set_defaults(func=cmd_repl)

    for register in _registrars():
        register(sub)
    return parser


def _registrars():  # type: ignore[no-untyped-def]
    """Subcommands that live in their own modules (each adds its parser)."""
    from bot.discord_cli import register as discord_register
    from bot.evaluation import register as eval_register
    from bot.index_cli import add_index_commands

    return [add_index_commands, eval_register, discord_register]


def setup_logging(level: str) -> None:
    """docqa's log lines go to stderr as ``docqa: message``; other libraries keep theirs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("docqa: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        settings_level = load_settings().log_level
    except SettingsError as exc:
        print(f"docqa: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings_level)
    # pypdf warns about every quirk of a PDF; our loader already says, in one line, when a
    # PDF cannot be used
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        return int(args.func(args))
    except (QuestionError, SettingsError) as exc:
        print(f"docqa: {exc}", file=sys.stderr)
        return 2
    except DocqaError as exc:
        print(f"docqa: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (``docqa ask ... | head``): point stdout at devnull so the
        # flush at exit does not fail again (the recipe in Python's signal docs)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
