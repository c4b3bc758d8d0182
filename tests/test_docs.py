"""Every command a user can type has help text."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

from conftest import ROOT

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


def _make_targets() -> dict[str, str]:
    """Each Makefile target's command: its recipe lines (checks starting with @ left out)
    joined with &&, with the Makefile's variables as they are written."""
    targets: dict[str, str] = {}
    name = None
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line and not line[0].isspace() and ":" in line and "=" not in line:
            name = line.split(":", 1)[0]
            targets[name] = ""
        elif line.startswith("\t") and name and not line.startswith("\t@"):
            targets[name] = " && ".join(filter(None, [targets[name], line.strip()]))
    return targets


def test_the_makefile_runs_what_the_readme_says() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `make (\w+)` \| `(.+)` \|$", readme, flags=re.MULTILINE))
    targets = _make_targets()
    assert rows == {t: targets[t] for t in ("repl", "test", "eval", "cranfield", "bench")}
    # and the set-up commands are those of make repl and make test, after the venv
    assert f"python3 -m venv .venv && {targets['repl']}" in readme
    assert f"python3 -m venv .venv && {targets['test']}" in readme
    assert targets[".venv/bin/python"] == "python3 -m venv .venv"
