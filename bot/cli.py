"""The ``docqa`` entry point: parses the command line, sets up logging and runs one
command; the commands live with their adapters (``terminal``, ``evaluation``, ``discord``,
``index_commands``), which build settings → documents → index → engine through
``bot.options`` and hand the engine to the adapter."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from bot.settings import SettingsError, load_settings
from index.errors import DocqaError, QuestionError

log = logging.getLogger("docqa")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docqa",
        description="Ask questions of a folder of documents; get short, verbatim, cited answers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    for register in _registrars():
        register(sub)
    return parser


def _registrars():  # type: ignore[no-untyped-def]
    """The commands of the adapter packages, in the order ``--help`` lists them."""
    from bot.discord.command import register as discord_register
    from bot.evaluation.command import register as eval_register
    from bot.index_commands import register as index_register
    from bot.terminal.commands import register as terminal_register

    return [terminal_register, index_register, eval_register, discord_register]


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
    # pypdfium2 warns about quirks of a PDF (a looping outline); our loader already says,
    # in one line, when a PDF cannot be used
    logging.getLogger("pypdfium2").setLevel(logging.ERROR)
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
