"""LiveIndex: a poll notices edited documents and swaps in a new engine."""

from __future__ import annotations

import os
import time
from pathlib import Path

from index.chunking import ChunkingConfig
from index.live import LiveIndex

CONFIG = ChunkingConfig(chunk_size=120, chunk_overlap=30)


def make_docs(root: Path) -> None:
    root.mkdir()
    (root / "a.txt").write_text("Sailing boats need wind.\n", encoding="utf-8")
    (root / "b.txt").write_text("Apples grow on trees.\n", encoding="utf-8")
    past = time.time() - 60
    for p in root.iterdir():
        os.utime(p, (past, past))


def test_an_edit_swaps_the_engine_and_the_old_one_keeps_answering(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    make_docs(docs)
    now = [0.0]
    live = LiveIndex(docs, tmp_path / "data", CONFIG, interval=10, clock=lambda: now[0])
    old = live.current
    assert live.check() is None  # nothing changed: same engine
    assert live.current is old

    (docs / "c.txt").write_text("Zebras live in Africa.\n", encoding="utf-8")
    now[0] = 5.0
    assert live.check_if_due() is None  # not due yet
    assert live.current is old
    now[0] = 11.0
    report = live.check_if_due()
    assert report is not None and (report.action, report.changes.added) == ("updated", ["c.txt"])
    assert live.current is not old
    assert [p.source for p in live.current.retrieve("zebras")] == ["c.txt"]
    # a question that took the old engine before the swap still gets the old answer
    assert old.retrieve("apples")[0].source == "b.txt"
    assert old.index.scorer.idf_of("zebra") is None


def test_losing_every_document_keeps_the_current_engine(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    make_docs(docs)
    live = LiveIndex(docs, tmp_path / "data", CONFIG, interval=0)
    engine = live.current
    for p in docs.iterdir():
        p.unlink()
    assert live.check_if_due() is None
    assert live.current is engine
    assert engine.retrieve("apples")[0].source == "b.txt"


def test_a_start_scans_the_folder_once(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from index import live as live_module
    from index.store import open_index, update

    docs = tmp_path / "docs"
    make_docs(docs)
    scans: list[Path] = []
    real_scan = update.scan

    def counting(root: Path):  # type: ignore[no-untyped-def]
        scans.append(root)
        return real_scan(root)

    monkeypatch.setattr(update, "scan", counting)
    monkeypatch.setattr(live_module, "scan", counting)
    initial = open_index(docs, tmp_path / "data", CONFIG)
    live = LiveIndex(docs, tmp_path / "data", CONFIG, initial=initial)
    assert scans == [docs]
    # a poll is one scan, and an update after it reuses that scan
    (docs / "c.txt").write_text("Zebras live in Africa.\n", encoding="utf-8")
    assert live.check() is not None
    assert scans == [docs, docs]


def test_a_cited_file_changed_since_indexed_is_flagged_and_refreshes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    make_docs(docs)
    now = [0.0]
    live = LiveIndex(docs, tmp_path / "data", CONFIG, interval=60, clock=lambda: now[0])
    engine = live.current
    assert [p.stale for p in engine.ask("sailing boats").passages] == [False]
    # new text: the cited lines no longer hold the passage
    (docs / "a.txt").write_text("Rowing boats need oars.\n", encoding="utf-8")
    answer = engine.ask("sailing boats")
    assert [(p.source, p.stale) for p in answer.passages] == [("a.txt", True)]
    # the stale citation asked for a refresh: the next check runs although not due
    report = live.check_if_due()
    assert report is not None and report.changes.changed == ["a.txt"]
    fresh = live.current.ask("rowing boats")
    assert [(p.source, p.stale) for p in fresh.passages] == [("a.txt", False)]
    assert live.check_if_due() is None  # and nothing more until the interval is up
