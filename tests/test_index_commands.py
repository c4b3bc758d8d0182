"""docqa index build|status|verify|clear, driven through argparse like the real CLI."""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import pytest

from index.loaders import SUPPORTED

from bot.index_commands import register as add_index_commands
from index.store import IndexStore
from readonly_fs import make_read_only


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
    # an earlier test's CLI run may have left a handler on a closed stderr
    monkeypatch.setattr(logging.getLogger("docqa"), "handlers", [])
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Sailing boats need wind.\n", encoding="utf-8")
    (docs / "notes.xyz").write_bytes(b"PK\x03\x04 not really")
    past = time.time() - 120
    for p in docs.iterdir():
        os.utime(p, (past, past))
    return str(docs), str(tmp_path / "data")


SKIP_XYZ = f"unsupported type (docqa reads {SUPPORTED})"


def test_build_status_clear(folders: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    docs, data = folders
    common = ["--docs", docs, "--data-dir", data]
    assert run("index", "status", *common) == 1
    assert capsys.readouterr().out == f"no saved index of {docs} in {data}: run docqa index build\n"

    assert run("index", "build", *common) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("built the index: 1 document, 1 chunks in ")
    assert out[1:] == ["  skipped: 1 file (docqa index status lists them)"]

    Path(docs, "b.txt").write_text("Apples grow on trees.\n", encoding="utf-8")
    assert run("index", "status", *common) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:4] == [
        "documents: 1 (1 file skipped)",
        f"  skipped notes.xyz: {SKIP_XYZ}",
        "chunks: 1 in 1 segment (0 deleted chunks kept until a merge)",
    ]
    assert lines[6:] == [
        "stale files: 1 added (the next start or docqa index build updates it)",
        "  + b.txt",
    ]

    assert run("index", "build", *common) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("updated the saved index (1 added): 2 documents, 2 chunks in ")
    assert out[1:] == ["  added: b.txt", "  skipped: 1 file (docqa index status lists them)"]

    assert run("index", "verify", *common) == 0
    assert capsys.readouterr().out.startswith("ok: every file of ")

    assert run("index", "clear", *common) == 0
    assert capsys.readouterr().out.startswith(f"removed the saved index of {docs} (")
    assert run("index", "clear", *common) == 0
    assert capsys.readouterr().out == f"no saved index of {docs} in {data}\n"


def test_build_without_write_access_fails_in_one_line(
    folders: tuple[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, data = folders
    Path(data).mkdir()
    make_read_only(monkeypatch, Path(data))
    assert run("index", "build", "--docs", docs, "--data-dir", data) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"docqa: could not save the index to {data}/indexes/docs-")
    assert lines[0].endswith("(Read-only file system); using it unsaved")


def test_clear_on_a_read_only_folder_fails_in_one_line(
    folders: tuple[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, data = folders
    assert run("index", "build", "--docs", docs, "--data-dir", data) == 0
    capsys.readouterr()
    make_read_only(monkeypatch, Path(data))
    assert run("index", "clear", "--docs", docs, "--data-dir", data) == 1
    captured = capsys.readouterr()
    store = IndexStore(Path(data), Path(docs))
    assert (captured.out, captured.err) == (
        "",
        f"docqa: could not remove the saved index {store.path} (Read-only file system)\n",
    )


def test_verify_names_a_damaged_file(
    folders: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    docs, data = folders
    assert run("index", "build", "--docs", docs, "--data-dir", data) == 0
    store = IndexStore(Path(data), Path(docs))
    manifest, _ = store.read_manifest()
    path = store.path / manifest.segments[0].file
    raw = bytearray(path.read_bytes())
    raw[70] ^= 0x01  # inside the first array, the vocabulary
    path.write_bytes(bytes(raw))
    capsys.readouterr()
    assert run("index", "verify", "--docs", docs, "--data-dir", data) == 1
    assert capsys.readouterr().err == (
        f"docqa: damaged: {path.name}: vocab_blob does not match its checksum\n"
    )


def test_every_index_command_has_help() -> None:
    parser = argparse.ArgumentParser(prog="docqa")
    sub = parser.add_subparsers(dest="command")
    add_index_commands(sub)
    index = sub.choices["index"]
    actions = next(a for a in index._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(actions.choices) == ["build", "clear", "status", "verify"]
    for name, action_parser in actions.choices.items():
        assert action_parser.description, name
    helps = {a.dest: a.help for a in actions._choices_actions}
    assert all(helps[name] for name in ["build", "clear", "status", "verify"])
