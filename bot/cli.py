"""The ``docqa`` command: builds settings → documents → index → engine, then runs one
adapter (ask, repl, and the subcommands other modules register)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings, SettingsError, load_settings
from bot.terminal import answer_json, format_answer
from index.errors import DocqaError, QuestionError
from index.retrieval import Engine, build_index

log = logging.getLogger("docqa")


def build_engine(settings: Settings, progress: bool | None = None) -> Engine:
    """Load, chunk and index ``settings.docs_dir``; report skipped files on stderr."""
    show = sys.stderr.isatty() if progress is None else progress

    def track(items):  # type: ignore[no-untyped-def]
        if not show:
            return items
        from tqdm import tqdm

        return tqdm(items, desc="indexing", unit="doc", leave=False, file=sys.stderr)

    index = build_index(settings.docs_dir, settings.chunking(), track=track)
    return Engine(index, settings.engine())


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
    engine = build_engine(settings)
    return Repl(engine, settings).run()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _add_docs(parser: argparse.ArgumentParser) -> None:
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
    _add_docs(ask)
    ask.add_argument("-k", type=_positive_int, metavar="N", help="passages to show (default 5)")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead")
    ask.set_defaults(func=cmd_ask)

    repl = sub.add_parser("repl", help=cmd_repl.__doc__, description=cmd_repl.__doc__)
    _add_docs(repl)
    repl.set_defaults(func=cmd_repl)

    for register in _registrars():
        register(sub)
    return parser


def _registrars():  # type: ignore[no-untyped-def]
    """Subcommands that live in their own modules (each adds its parser)."""
    from bot.discord_cli import register as discord_register
    from bot.evaluation import register as eval_register

    return [eval_register, discord_register]


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
