"""``docqa ask`` and ``docqa repl``: the terminal commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.options import add_docs_option, build_engine, build_live, positive_int, settings_from
from bot.terminal.format import answer_json, format_answer


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question and print the cited passages."""
    settings = settings_from(args)
    engine = build_engine(settings, progress=False if args.json else None)
    answer = engine.ask(args.question)
    if args.json:
        print(json.dumps(answer_json(answer), ensure_ascii=False))
    else:
        print(format_answer(answer, color=sys.stdout.isatty()))
    return 0


def cmd_repl(args: argparse.Namespace) -> int:
    """Ask questions one after another; :help lists the commands."""
    from bot.terminal.repl import Repl

    settings = settings_from(args)
    live = build_live(settings)
    return Repl(live.current, settings, live=live).run()


def register(subparsers: Any) -> None:
    """Add ``docqa ask`` and ``docqa repl`` to the CLI's subcommands."""
    ask = subparsers.add_parser("ask", help=cmd_ask.__doc__, description=cmd_ask.__doc__)
    ask.add_argument("question", help="the question, in quotes")
    add_docs_option(ask)
    ask.add_argument("-k", type=positive_int, metavar="N", help="passages to show (default 5)")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead")
    ask.set_defaults(func=cmd_ask)

    repl = subparsers.add_parser("repl", help=cmd_repl.__doc__, description=cmd_repl.__doc__)
    add_docs_option(repl)
    repl.set_defaults(func=cmd_repl)
