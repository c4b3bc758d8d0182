"""Every command a user can type has help text."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from bot.cli import make_parser
from bot.terminal.repl import COMMANDS


def _subparsers(parser: argparse.ArgumentParser, path: str = "docqa") -> Iterator[tuple[str, str | None, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{path} {name}", helps.get(name), sub
                yield from _subparsers(sub, f"{path} {name}")


def test_every_cli_command_and_option_has_help() -> None:
    commands = list(_subparsers(make_parser()))
    names = [name for name, _, _ in commands]
    assert {"docqa ask", "docqa repl"} <= set(names)
    for name, summary, sub in commands:
        assert summary and sub.description, f"{name} has no help text"
        for action in sub._actions:
            if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                assert action.help, f"{name} {action.dest} has no help text"


def test_every_repl_command_has_help() -> None:
    assert set(COMMANDS) == {":help", ":sources", ":k N", ":open N", ":explain N", ":reset", ":quit"}
    assert all(len(text) > 10 for text in COMMANDS.values())
