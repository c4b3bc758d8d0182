from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from bot.cli import main
from index import loaders
from index.chunking import ChunkingConfig
from index.citations import verify_citation
from index.errors import NoDocumentsError
from index.live import LiveIndex
from index.loaders import (
    Skipped,
    decode,
    iter_files,
    load_documents,
    load_file,
    printable_source,
    source_path,
)
from index.models import Document
from index.retrieval import Engine
from index.store import Changes, open_index

T = TypeVar("T")


def _blocks(doc: Document) -> list[tuple[str, tuple[str, ...], bool]]:
    return [(doc.text[b.start : b.end], b.heading_path, b.is_heading) for b in doc.blocks]


def test_loads_every_kind_in_a_stable_order(docs_dir: Path) -> None:
    result = load_documents(docs_dir)
    assert [(d.source, d.kind) for d in result.documents] == [
        ("faq.html", "html"),
        ("guide.md", "markdown"),
        ("manual.pdf", "pdf"),
        ("notes/cafe.txt", "text"),
    ]
    assert result.skipped == []


def test_windows_1252_is_the_fallback(docs_dir: Path) -> None:
    doc = load_file(docs_dir, docs_dir / "notes" / "cafe.txt", "notes/cafe.txt")
    assert isinstance(doc, Document)
    assert doc.text == "Le café ouvre à huit heures.\n"


def test_decode() -> None:
    assert decode("\ufeffhé\r\nho".encode()) == "hé\nho"
    assert decode(b"caf\xe9") == "café"
    assert decode(b"\x00\x01binary") is None
    assert decode(b"\x81\x8d\x9d") is None  # undefined in Windows-1252 too
    assert decode(bytes(range(1, 32)) * 10) is None  # control characters: not text


def test_bad_files_are_skipped_with_a_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "good.txt").write_text("A good document about turbines.\n")
    (root / "blob.txt").write_bytes(b"\x00\x01\x02\x03")
    (root / "bad.md").write_bytes(b"\x81\x8d\x9d\x81")
    (root / "empty.md").write_text("  \n\n")
    (root / "image.png").write_bytes(b"\x89PNG")
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (root / "script.html").write_text("<script>x()</script>")
    outside = tmp_path / "secret.txt"
    outside.write_text("outside the folder")
    os.symlink(outside, root / "link.txt")
    (root / ".hidden.txt").write_text("hidden files are passed over")
    with caplog.at_level(logging.WARNING, logger="docqa.loading"):
        result = load_documents(root)
    assert [d.source for d in result.documents] == ["good.txt"]
    assert result.skipped == [
        Skipped("bad.md", "binary or undecodable (not UTF-8, UTF-16 or Windows-1252 text)"),
        Skipped("blob.txt", "binary or undecodable (not UTF-8, UTF-16 or Windows-1252 text)"),
        Skipped("broken.pdf", result.skipped[2].reason),
        Skipped("empty.md", "empty"),
        Skipped(
            "image.png",
            "unsupported type (docqa reads .adoc, .asciidoc, .docx, .htm, .html, .markdown, "
            ".md, .mdx, .pdf, .rest, .rst, .txt, .xhtml)",
        ),
        Skipped("link.txt", "link leads outside the documents folder"),
        Skipped("script.html", "no visible text"),
    ]
    assert result.skipped[2].reason.startswith("unreadable PDF")
    ours = [r for r in caplog.records if r.name == "docqa.loading"]
    assert len(ours) == 7
    assert ours[0].getMessage() == (
        "skipped bad.md: binary or undecodable (not UTF-8, UTF-16 or Windows-1252 text)"
    )


def test_any_error_of_a_parser_is_that_files_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pypdf raised NotImplementedError and AttributeError outside the loader's except list,
    # and a deep document can make a parser recurse past the limit: each stopped every start
    errors = {
        "filter.pdf": NotImplementedError("Unsupported filter /Foo"),
        "trailer.pdf": AttributeError("'NameObject' object has no attribute 'items'"),
        "deep.pdf": RecursionError("maximum recursion depth exceeded"),
    }

    def parser_fails(source: str, data: bytes) -> Document:
        if source in errors:
            raise errors[source]
        return real_pdf(source, data)

    real_pdf = loaders.LOADERS[".pdf"]
    monkeypatch.setitem(loaders.LOADERS, ".pdf", parser_fails)
    for name in errors:
        (tmp_path / name).write_bytes(b"%PDF-1.4")
    (tmp_path / "good.txt").write_text("The good file is read.\n", encoding="utf-8")
    result = load_documents(tmp_path)
    assert [d.source for d in result.documents] == ["good.txt"]
    assert result.skipped == [
        Skipped("deep.pdf", "could not be read (RecursionError: maximum recursion depth exceeded)"),
        Skipped("filter.pdf", "could not be read (NotImplementedError: Unsupported filter /Foo)"),
        Skipped(
            "trailer.pdf",
            "could not be read (AttributeError: 'NameObject' object has no attribute 'items')",
        ),
    ]


def test_no_usable_document_says_where_and_what(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"\x89PNG")
    with pytest.raises(NoDocumentsError) as err:
        load_documents(tmp_path)
    assert str(err.value) == (
        f"no documents found in {tmp_path}: add .adoc, .asciidoc, .docx, .htm, .html, "
        ".markdown, .md, .mdx, .pdf, .rest, .rst, .txt, .xhtml files, "
        "or point DOCQA_DOCS_DIR (or --docs) at another folder"
    )
    with pytest.raises(NoDocumentsError, match="does not exist"):
        load_documents(tmp_path / "missing")


# --- which files are read, and under which name (issue 11) ------------------------------


def _finishes(work: Callable[[], T], seconds: float = 60) -> T:
    """``work()``'s result; fails instead of hanging when it does not return (a named
    pipe opened for reading waits for a writer forever)."""
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "hung"
    return result[0]


@pytest.fixture
def odd_folder(tmp_path: Path) -> Path:
    """A folder with one good file and a named pipe, a link loop, a pair of links that
    point at each other and a broken link, each with a supported suffix."""
    root = tmp_path / "docs"
    root.mkdir()
    (root / "good.txt").write_text("Turbines spin in the wind.\n", encoding="utf-8")
    os.mkfifo(root / "pipe.txt")
    os.symlink("loop.md", root / "loop.md")
    os.symlink("b.txt", root / "a.txt")
    os.symlink("a.txt", root / "b.txt")
    os.symlink("missing.txt", root / "dangling.txt")
    return root


ODD_SKIPS = [
    Skipped("a.txt", "symbolic link loop"),
    Skipped("b.txt", "symbolic link loop"),
    Skipped("dangling.txt", "broken link (its target does not exist)"),
    Skipped("loop.md", "symbolic link loop"),
    Skipped("pipe.txt", "not a regular file (a named pipe, socket or device)"),
]


def test_only_regular_files_are_read(odd_folder: Path) -> None:
    result = _finishes(lambda: load_documents(odd_folder))
    assert [d.source for d in result.documents] == ["good.txt"]
    assert result.skipped == ODD_SKIPS


def test_index_build_and_eval_skip_pipes_and_links_with_a_reason(
    odd_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs, data = str(odd_folder), str(tmp_path / "data")
    assert _finishes(lambda: main(["index", "build", "--docs", docs, "--data-dir", data])) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"docqa: skipped {s.source}: {s.reason}" for s in ODD_SKIPS
    ]
    assert captured.out.startswith("built the index: 1 document, 1 chunks in ")
    questions = tmp_path / "q.yaml"
    questions.write_text("- question: what spins in the wind\n  answers: [Turbines]\n")
    assert _finishes(lambda: main(["eval", str(questions), "--docs", docs])) == 0
    assert "All 1 question passed." in capsys.readouterr().out


def test_pipes_and_links_are_not_read_again_at_every_start(
    odd_folder: Path, tmp_path: Path
) -> None:
    # a broken link or a loop was recorded without a stat: every start found it "changed",
    # warned again and wrote a new generation
    past = time.time() - 30  # old enough to be trusted without hashing
    for entry in odd_folder.iterdir():
        os.utime(entry, (past, past), follow_symlinks=False)
    data = tmp_path / "data"
    _finishes(lambda: open_index(odd_folder, data, ChunkingConfig()))
    index, report = _finishes(lambda: open_index(odd_folder, data, ChunkingConfig()))
    assert (report.action, report.changes, index.skipped) == ("loaded", Changes(), ODD_SKIPS)


def test_a_file_name_that_is_not_utf8_gets_a_printable_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    with open(os.fsencode(root) + b"/caf\xe9 menu.txt", "w", encoding="utf-8") as f:
        f.write("Croissants are served until noon.\n")
    docs, data = str(root), str(tmp_path / "data")
    assert main(["index", "build", "--docs", docs, "--data-dir", data]) == 0
    assert capsys.readouterr().out.startswith("built the index: 1 document, 1 chunks")
    monkeypatch.setenv("DOCQA_DATA_DIR", data)
    assert main(["ask", "until when croissants", "--docs", docs, "--json"]) == 0
    passage = json.loads(capsys.readouterr().out)["passages"][0]
    assert (passage["source"], passage["start_line"]) == ("caf\\xe9 menu.txt", 1)
    index, report = open_index(root, tmp_path / "data", ChunkingConfig())
    assert report.action == "loaded"  # saved and loaded again under the same name
    engine = Engine(index)
    found = engine.retrieve("croissants", k=1)[0]
    assert verify_citation(root, found)
    # (line, text, the span of it the passage covers); the final newline ends line 1
    assert engine.source_lines(found) == [(1, "Croissants are served until noon.", (0, 33))]


def test_printable_source_names_and_back(tmp_path: Path) -> None:
    names = [b"plain.txt", b"caf\xc3\xa9.txt", b"bad\xff.txt", b"forged\ndocqa: built.txt",
             b"c1\xc2\x85.txt"]  # fmt: skip
    for raw in names:
        (tmp_path / os.fsdecode(raw)).write_text("x")
    sources = [source for _, source in iter_files(tmp_path)]
    assert sources == [
        "bad\\xff.txt", "c1\\u0085.txt", "café.txt", "forged\\x0adocqa: built.txt", "plain.txt",
    ]  # fmt: skip
    assert sorted(os.fsencode(source_path(tmp_path, s).name) for s in sources) == sorted(names)
    assert printable_source("tab\there") == "tab\\x09here"


def test_every_format_is_bound_by_characters_and_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "long.txt").write_text("word " * 100, encoding="utf-8")
    (tmp_path / "slow.rst").write_text("Title\n=====\n\nSome text.\n", encoding="utf-8")
    monkeypatch.setattr(loaders, "MAX_FILE_CHARS", 499)
    assert load_file(tmp_path, tmp_path / "long.txt", "long.txt") == Skipped(
        "long.txt", "more than 499 characters of text (the per-file bound)"
    )
    monkeypatch.setattr(loaders, "MAX_FILE_CHARS", 500)
    assert isinstance(load_file(tmp_path, tmp_path / "long.txt", "long.txt"), Document)
    ticks = iter([0.0, 31.0, 31.0, 31.0])  # the parse takes "31 s"
    monkeypatch.setattr(loaders, "_clock", lambda: next(ticks))
    assert load_file(tmp_path, tmp_path / "slow.rst", "slow.rst") == Skipped(
        "slow.rst", "took more than 30 s to read (the per-file time bound)"
    )


def test_each_suffix_goes_to_its_loader(tmp_path: Path) -> None:
    (tmp_path / "a.rst").write_text("Title\n=====\n\nText.\n", encoding="utf-8")
    (tmp_path / "b.REST").write_text("Other\n-----\n\nMore.\n", encoding="utf-8")
    (tmp_path / "c.docx").write_bytes(b"PK\x03\x04 not really")
    result = load_documents(tmp_path)
    assert [(d.source, d.kind) for d in result.documents] == [("a.rst", "rst"), ("b.REST", "rst")]
    assert result.skipped == [Skipped("c.docx", "not a DOCX file (not a zip archive)")]


def test_the_live_index_skips_a_pipe_without_hanging(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("Turbines spin in the wind.\n", encoding="utf-8")
    live = LiveIndex(docs, tmp_path / "data", ChunkingConfig(), interval=0)
    os.mkfifo(docs / "pipe.txt")
    report = _finishes(live.check)
    assert report is not None
    assert (report.changes.added, live.current.index.skipped) == (
        ["pipe.txt"], [Skipped("pipe.txt", "not a regular file (a named pipe, socket or device)")]
    )
    os.utime(docs / "pipe.txt", (1, 1))  # its stat moved: the update looks at it again
    assert _finishes(live.check) is not None
    assert _finishes(lambda: live.check(force=True)) is not None  # what /reindex does
    assert [p.source for p in live.current.retrieve("turbines")] == ["good.txt"]
