"""The ``docqa`` entry point: parses the command line, sets up logging and runs one
command; the commands live with their adapters (``terminal``, ``evaluation``, ``discord``,
``index_commands``), which build settings → documents → index → engine through
``bot.options`` and hand the engine to the adapter."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from bot.printable import printable
from bot.settings import SettingsError, load_settings
from index.errors import DocqaError, QuestionError

log = logging.getLogger("docqa")


class _Version(argparse.Action):
    """``--version``: looked up only when asked, so other commands do not pay for it."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show docqa's version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("docqa")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "unknown (not installed)"
        print(f"docqa {number}")
        parser.exit()


# each command's module, in the order ``--help`` lists them; only the invoked one is
# imported, so ``docqa ask`` does not pay for the evaluation or Discord code
_COMMANDS = {
    "ask": "bot.terminal.commands",
    "repl": "bot.terminal.commands",
    "index": "bot.index_commands",
    "eval": "bot.evaluation.command",
    "discord": "bot.discord.command",
}


def make_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docqa",
        description="Ask questions of a folder of documents; get short, verbatim, cited answers.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    invoked = next((a for a in argv or () if not a.startswith("-")), None)
    modules = (
        [_COMMANDS[invoked]] if invoked in _COMMANDS else list(dict.fromkeys(_COMMANDS.values()))
    )
    for module in modules:
        importlib.import_module(module).register(sub)
    return parser


class _OneLine(logging.Formatter):
    """``docqa: message``, with control characters escaped: a message may carry a file
    name, and a name holding a newline or an escape sequence must not forge a line or
    drive the terminal."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        return printable(super().formatMessage(record), newlines=False)


def setup_logging(level: str) -> None:
    """docqa's log lines go to stderr as ``docqa: message``; other libraries keep theirs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine("docqa: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    if getattr(sys.stdout, "errors", None) == "strict" and hasattr(sys.stdout, "reconfigure"):
        # a terminal whose encoding cannot show a character of a document (’ on a Latin-1
        # terminal) gets an escape for it, not a UnicodeEncodeError halfway through
        sys.stdout.reconfigure(errors="backslashreplace")
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = make_parser(argv)
    args = parser.parse_args(argv)
    try:
        # read once, with the flags that stand for settings on top; a command takes these
        # from ``args.settings`` (``bot.options.settings_from``) instead of reading again
        settings = load_settings(
            getattr(args, "command", None),
            docs_dir=getattr(args, "docs", None),
            k=getattr(args, "k", None),
        )
        args.settings = settings
    except SettingsError as exc:
        _error(exc)
        return 2
    setup_logging(settings.log_level)
    for warning in settings.warnings:
        log.warning("%s", warning)
    # pypdfium2 warns about quirks of a PDF (a looping outline); our loader already says,
    # in one line, when a PDF cannot be used
    logging.getLogger("pypdfium2").setLevel(logging.ERROR)
    try:
        return int(args.func(args))
    except (QuestionError, SettingsError) as exc:
        _error(exc)
        return 2
    except DocqaError as exc:
        _error(exc)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (``docqa ask ... | head``): point stdout at devnull so the
        # flush at exit does not fail again (the recipe in Python's signal docs)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _error(exc: Exception) -> None:
    print(f"docqa: {printable(str(exc), newlines=False)}", file=sys.stderr)
