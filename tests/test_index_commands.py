"""docqa index build|status|clear, driven through argparse like the real CLI."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pytest

from bot.index_commands import register as add_index_commands


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="docqa")
    add_index_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return int(args.func(args))


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    for name in list(os.environ):
        if name.startswith("DOCQA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env of the project's
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Sailing boats need wind.\n", encoding="utf-8")
    past = time.time() - 120
    os.utime(docs / "a.txt", (past, past))
    return str(docs), str(tmp_path / "data")


def test_build_status_clear(folders: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    docs, data = folders
    common = ["--docs", docs, "--data-dir", data]
    assert run("index", "status", *common) == 0
    assert capsys.readouterr().out == f"no saved index of {docs} in {data}: run docqa index build\n"

    assert run("index", "build", *common) == 0
    assert capsys.readouterr().out.startswith("built the index: 1 document, 1 chunks in ")

    Path(docs, "b.txt").write_text("Apples grow on trees.\n", encoding="utf-8")
    assert run("index", "status", *common) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == ["documents: 1 (0 files skipped)", "chunks: 1, terms: 4"]
    assert lines[5:] == [
        "stale files: 1 added (the next start or docqa index build updates it)",
        "  + b.txt",
    ]

    assert run("index", "build", *common) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("updated the saved index (1 added): 2 documents, 2 chunks in ")
    assert out[1:] == ["  added: b.txt"]

    assert run("index", "clear", *common) == 0
    assert capsys.readouterr().out.startswith(f"removed the saved index of {docs} (")
    assert run("index", "clear", *common) == 0
    assert capsys.readouterr().out == f"no saved index of {docs} in {data}\n"


def test_every_index_command_has_help() -> None:
    parser = argparse.ArgumentParser(prog="docqa")
    sub = parser.add_subparsers(dest="command")
    add_index_commands(sub)
    index = sub.choices["index"]
    actions = next(a for a in index._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(actions.choices) == ["build", "clear", "status"]
    for name, action_parser in actions.choices.items():
        assert action_parser.description, name
    helps = {a.dest: a.help for a in actions._choices_actions}
    assert all(helps[name] for name in ["build", "clear", "status"])
