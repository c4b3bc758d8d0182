"""The saved index: round trip, incremental updates, corruption and a kill mid-save."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from index.chunking import ChunkingConfig
from index.errors import NoDocumentsError
from index.retrieval import build_index
from index.store import IndexStore, index_fingerprint, index_status, open_index, update
from index.store import format as store_format
from index.tokenize import tokenize

CONFIG = ChunkingConfig(chunk_size=120, chunk_overlap=30)
QUESTIONS = ["microsoft openai deal", "sailing boats wind", "apples and pears", "zebra"]
REPO = Path(__file__).resolve().parent.parent

FILES = {
    "a.txt": "Microsoft signed a deal with OpenAI. The deal was worth ten billion dollars.\n"
    "Copilot came out of it. Musk was not part of the deal.\n",
    "b.md": "# Boats\n\nSailing boats need wind. Wind comes from the sea.\n\n"
    "## Sails\n\nA sail catches the wind and moves the boat forward.\n",
    "notes/c.txt": "Apples and pears grow on trees. Pears ripen later than apples.\n",
    "image.png": "\x89PNG not really",
    "empty.txt": "",
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def age(root: Path, seconds: float = 60) -> None:
    """Date every file back, as if written a while ago (not racily close to a save)."""
    past = time.time() - seconds
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    write(root, FILES)
    age(root)
    return root


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def assert_same_as_fresh_build(index, root: Path) -> None:  # type: ignore[no-untyped-def]
    """What an incremental update or a load gives must equal building from scratch."""
    fresh = build_index(root, CONFIG)
    assert list(index.chunks) == list(fresh.chunks)
    assert [(s.source, s.reason) for s in index.skipped] == [
        (s.source, s.reason) for s in fresh.skipped
    ]
    for question in QUESTIONS:
        terms = tokenize(question)
        assert index.scorer.get_scores(terms).tolist() == fresh.scorer.get_scores(terms).tolist()
        assert index.scorer.top_k(terms, 5) == fresh.scorer.top_k(terms, 5)


def test_build_then_restart_loads_without_reading_documents(
    docs: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, report = open_index(docs, data, CONFIG)
    assert (report.action, report.saved, report.notices) == ("built", True, [])
    assert (report.documents, report.chunks) == (3, len(index.chunks))
    assert_same_as_fresh_build(index, docs)

    def no_loading(*args: object) -> None:
        raise AssertionError("an unchanged folder must not be loaded again")

    monkeypatch.setattr(update, "load_file", no_loading)
    again, report = open_index(docs, data, CONFIG)
    assert (report.action, report.saved, report.notices) == ("loaded", False, [])
    assert_same_as_fresh_build(again, docs)


def test_only_added_and_changed_files_are_loaded(
    docs: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_index(docs, data, CONFIG)
    (docs / "a.txt").write_text("Microsoft and OpenAI ended the deal.\n", encoding="utf-8")
    write(docs, {"d.txt": "Zebra crossings help people cross the road safely.\n"})
    (docs / "notes" / "c.txt").unlink()
    age(docs)
    loaded: list[str] = []
    real_load = update.load_file

    def spy(root: Path, path: Path, source: str):  # type: ignore[no-untyped-def]
        loaded.append(source)
        return real_load(root, path, source)

    monkeypatch.setattr(update, "load_file", spy)
    index, report = open_index(docs, data, CONFIG)
    assert report.action == "updated"
    assert (report.changes.added, report.changes.changed, report.changes.removed) == (
        ["d.txt"],
        ["a.txt"],
        ["notes/c.txt"],
    )
    assert loaded == ["a.txt", "d.txt"]
    assert_same_as_fresh_build(index, docs)
    assert "pear" not in index.scorer.vocab  # its only file is gone
    # and the update was saved: the next start loads it as it is
    monkeypatch.setattr(update, "load_file", real_load)
    again, report = open_index(docs, data, CONFIG)
    assert report.action == "loaded"
    assert_same_as_fresh_build(again, docs)


def test_a_touched_file_is_hashed_not_reindexed(
    docs: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_index(docs, data, CONFIG)
    age(docs, seconds=30)  # new mtimes, same bytes
    monkeypatch.setattr(update, "load_file", lambda *a: pytest.fail("re-read a same file"))
    index, report = open_index(docs, data, CONFIG)
    assert (report.action, report.saved) == ("loaded", True)
    assert sorted(report.changes.touched) == ["a.txt", "b.md", "empty.txt", "image.png", "notes/c.txt"]
    assert_same_as_fresh_build(index, docs)
    # the new mtimes were saved, so the next start does not hash anything
    _, report = open_index(docs, data, CONFIG)
    assert (report.action, report.saved, report.changes.touched) == ("loaded", False, [])


def test_a_file_written_just_before_the_save_is_checked_again(docs: Path, data: Path) -> None:
    (docs / "a.txt").write_text("Fresh text about Microsoft.\n", encoding="utf-8")  # mtime: now
    open_index(docs, data, CONFIG)
    manifest, _ = IndexStore(data, docs).read_manifest()
    assert {r.source: r.mtime_ns for r in manifest.files}["a.txt"] == -1


def test_changed_settings_rebuild_with_one_notice(docs: Path, data: Path) -> None:
    open_index(docs, data, CONFIG)
    other = ChunkingConfig(chunk_size=200, chunk_overlap=0)
    index, report = open_index(docs, data, other)
    assert report.action == "built"
    assert report.notices == [
        f"index settings changed ({index_fingerprint(CONFIG)} → {index_fingerprint(other)}): "
        "rebuilding the whole index"
    ]
    assert list(index.chunks) == list(build_index(docs, other).chunks)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("flip doc_ids.npy", "doc_ids.npy does not match its checksum"),
        ("truncate texts.utf8", "texts.utf8 is"),
        ("garble manifest.json", "manifest.json does not match its checksum"),
        ("delete vocab.json", "cannot read the saved index"),
        ("garble CURRENT", "cannot read the index pointer or manifest"),
    ],
)
def test_a_damaged_index_is_reported_in_one_line_and_rebuilt(
    docs: Path, data: Path, damage: str, reason: str
) -> None:
    open_index(docs, data, CONFIG)
    s = IndexStore(data, docs)
    generation = s.current_generation()
    assert generation is not None
    action, name = damage.split()
    path = s.path / name if name == "CURRENT" else generation / name
    if action == "flip":
        raw = bytearray(path.read_bytes())
        raw[-1] ^= 0xFF
        path.write_bytes(bytes(raw))
    elif action == "truncate":
        path.write_bytes(path.read_bytes()[:-5])
    elif action == "garble":
        path.write_text("{not json", encoding="utf-8")
    else:
        path.unlink()
    index, report = open_index(docs, data, CONFIG)
    assert report.action == "built"
    assert len(report.notices) == 1
    notice = report.notices[0]
    assert "\n" not in notice
    assert notice.startswith(f"saved index in {s.path} is unusable (")
    assert reason in notice
    assert notice.endswith("): rebuilding it")
    assert_same_as_fresh_build(index, docs)
    # the rebuilt index replaced the damaged one
    assert open_index(docs, data, CONFIG)[1].action == "loaded"


def test_arrays_are_never_unpickled(docs: Path, data: Path) -> None:
    open_index(docs, data, CONFIG)
    s = IndexStore(data, docs)
    manifest, generation = s.read_manifest()
    with pytest.raises(store_format.IndexCorrupt, match="unexpected array"):
        store_format._npy_from_bytes(_npy_bytes(np.array([{"a": 1}], dtype=object)), "x")
    # a fortran or 2-d array is refused too, not reinterpreted
    with pytest.raises(store_format.IndexCorrupt, match="unexpected array"):
        store_format._npy_from_bytes(_npy_bytes(np.zeros((2, 2))), "x")
    assert s.load(index_fingerprint(CONFIG)).manifest == manifest


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    out = io.BytesIO()
    np.lib.format.write_array(out, array, allow_pickle=True)
    return out.getvalue()


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from index import store
    from index.store import format as store_format
    from index.chunking import ChunkingConfig

    docs, data, stop_at = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    def pause(step):
        print(step, flush=True)
        if step == stop_at:
            time.sleep(60)  # the test kills us here

    store_format._after_write = pause
    store.open_index(docs, data, ChunkingConfig(chunk_size=120, chunk_overlap=30))
    print("finished", flush=True)
    """
)


@pytest.mark.parametrize("stop_at", ["doc_ids.npy", "manifest.json", "rename", "CURRENT.tmp"])
def test_a_kill_in_the_middle_of_a_save_leaves_the_previous_index(
    docs: Path, data: Path, stop_at: str
) -> None:
    before, _ = open_index(docs, data, CONFIG)
    before_chunks = list(before.chunks)
    (docs / "a.txt").write_text("Something else entirely about zebras.\n", encoding="utf-8")
    age(docs)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(docs), str(data), stop_at],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    steps = []
    try:
        for line in proc.stdout:
            steps.append(line.strip())
            if steps[-1] == stop_at:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert steps[-1] == stop_at and "finished" not in steps
    # the previous generation is still the live one and loads without complaint
    stored = IndexStore(data, docs).load(index_fingerprint(CONFIG))
    assert list(stored.chunks) == before_chunks
    # and the next start brings it up to date, cleaning the half-written folder away
    index, report = open_index(docs, data, CONFIG)
    assert (report.action, report.notices, report.changes.changed) == ("updated", [], ["a.txt"])
    assert_same_as_fresh_build(index, docs)
    s = IndexStore(data, docs)
    assert [p.name for p in s.path.iterdir() if p.name.startswith("gen-")] == [
        s.current_generation().name  # type: ignore[union-attr]
    ]


def test_status_lists_stale_files_and_clear_removes_the_index(docs: Path, data: Path) -> None:
    assert index_status(docs, data, CONFIG).exists is False
    open_index(docs, data, CONFIG)
    (docs / "b.md").write_text("# Boats\n\nMotor boats need fuel.\n", encoding="utf-8")
    write(docs, {"new.txt": "A new file.\n"})
    status = index_status(docs, data, CONFIG)
    assert (status.exists, status.problem, status.documents, status.skipped) == (True, None, 3, 2)
    assert (status.changes.added, status.changes.changed, status.changes.removed) == (
        ["new.txt"],
        ["b.md"],
        [],
    )
    assert status.size_bytes == sum(
        p.stat().st_size for p in IndexStore(data, docs).current_generation().iterdir()  # type: ignore[union-attr]
    )
    assert IndexStore(data, docs).clear() is True
    assert index_status(docs, data, CONFIG).exists is False
    assert IndexStore(data, docs).clear() is False


def test_a_folder_without_usable_documents_is_an_error(tmp_path: Path, data: Path) -> None:
    root = tmp_path / "docs"
    write(root, {"image.png": "x", "empty.txt": ""})
    with pytest.raises(NoDocumentsError, match=f"no documents found in {root}"):
        open_index(root, data, CONFIG)
    with pytest.raises(NoDocumentsError, match="does not exist"):
        open_index(tmp_path / "missing", data, CONFIG)


def test_an_unwritable_data_folder_still_gives_an_index(docs: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x", encoding="utf-8")
    index, report = open_index(docs, blocker, CONFIG)
    assert report.saved is False
    assert len(report.notices) == 1 and report.notices[0].startswith("could not save the index")
    assert_same_as_fresh_build(index, docs)
