"""``docqa ask`` and ``docqa repl``: the terminal commands."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from typing import Any

from bot.options import add_docs_option, add_k_option, build_engine, build_live, settings_from
from bot.printable import json_printable, typed
from bot.terminal.format import answer_json, format_answer, use_color


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question and print the cited passages."""
    settings = settings_from(args)
    engine = build_engine(settings, progress=False if args.json else None)
    # the words of an unquoted question arrive one by one: they are the question
    answer = engine.ask(typed(" ".join(args.question)))
    if args.json:
        print(json_printable(json.dumps(answer_json(answer), ensure_ascii=False)))
    else:
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        print(format_answer(answer, color=use_color(sys.stdout), width=width))
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
    ask.add_argument(
        "question", nargs="+", help="the question (quotes are optional: the words are joined)"
    )
    add_docs_option(ask)
    add_k_option(ask, help="passages to show (default: DOCQA_K, 5)")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead")
    ask.set_defaults(func=cmd_ask)

    repl = subparsers.add_parser("repl", help=cmd_repl.__doc__, description=cmd_repl.__doc__)
    add_docs_option(repl)
    repl.set_defaults(func=cmd_repl)
