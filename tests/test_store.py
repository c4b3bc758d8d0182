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

from index.loaders import SUPPORTED

from index.chunking import ChunkingConfig
from index.errors import NoDocumentsError
from index.retrieval import build_index
from index.store import IndexStore, index_fingerprint, index_status, open_index, segment, update
from index.store import format as store_format
from index.store.container import ArrayFile, IndexCorrupt
from index.store.table import BLOCK_ROW, ROW
from index.tokenize import tokenize
from readonly_fs import make_read_only

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


def _key(chunk) -> tuple:  # type: ignore[no-untyped-def]
    """A chunk without its id: ids follow the segments' order, not the sources'."""
    return tuple(
        v for k, v in chunk.model_dump().items() if k != "id"
    )


def assert_same_as_fresh_build(index, root: Path) -> None:  # type: ignore[no-untyped-def]
    """What an incremental update or a load gives must equal building from scratch:
    the same chunks, every chunk's exact score, the same whole ranking."""
    fresh = build_index(root, CONFIG)
    ours = [_key(c) for c in index.chunks]
    theirs = [_key(c) for c in fresh.chunks]
    assert sorted(ours) == sorted(theirs)
    assert [c.id for c in index.chunks] == list(range(len(index.chunks)))
    assert [(s.source, s.reason) for s in index.skipped] == [
        (s.source, s.reason) for s in fresh.skipped
    ]
    for question in QUESTIONS:
        terms = tokenize(question)
        by_key = dict(zip(ours, index.scorer.get_scores(terms).tolist()))
        assert by_key == dict(zip(theirs, fresh.scorer.get_scores(terms).tolist()))
        n = len(theirs)
        ranked = [(-s, ours[i]) for i, s in index.scorer.top_k(terms, n)]
        expected = [(-s, theirs[i]) for i, s in fresh.scorer.top_k(terms, n)]
        assert sorted(ranked) == sorted(expected)
        assert [s for s, _ in ranked] == [s for s, _ in expected]


def test_a_build_in_the_pool_cut_into_segments_equals_one_built_in_memory(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # enough files for the process pool (batches of files counted in the workers), cut
    # into segments of a few chunks, files of one batch landing in different segments
    root = tmp_path / "many"
    words = "boats wind sails apples pears zebra deal microsoft openai copilot".split()
    write(root, {
        f"d{i // 20}/f{i:03d}.{'md' if i % 3 else 'txt'}":
        (f"# Part {i}\n\n" if i % 3 else "")
        + " ".join(f"{words[(i * j) % len(words)]} {j}." for j in range(1, 8 + i % 13)) + "\n"
        for i in range(90)
    } | {"bad.txt": "\x00\x01binary"})  # fmt: skip
    age(root)
    monkeypatch.setattr(update, "POOL_MIN_FILES", 10)
    monkeypatch.setattr(update, "SEGMENT_CHUNKS", 25)
    monkeypatch.setattr(update, "MERGE_FACTOR", 100)  # keep every segment as written
    index, report = open_index(root, data, CONFIG)
    assert (report.documents, len(report.skipped)) == (90, 1)
    assert len(IndexStore(data, root).read_manifest()[0].segments) > 3
    assert_same_as_fresh_build(index, root)
    again, report = open_index(root, data, CONFIG)
    assert report.action == "loaded"
    assert_same_as_fresh_build(again, root)


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
    stored = IndexStore(data, docs).load(index_fingerprint(CONFIG))
    mtimes = {r.source: r.mtime_ns for r in stored.records.all()}
    assert mtimes["a.txt"] == -1
    assert mtimes["b.md"] == (docs / "b.md").stat().st_mtime_ns


def test_a_file_edited_while_it_is_indexed_is_indexed_again(
    docs: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the loader reads the old text, then the file changes (same size) before the save:
    # the record must not claim the new bytes were indexed
    real_load = update.load_file
    path = docs / "a.txt"
    new_text = path.read_text(encoding="utf-8").replace("Microsoft", "Macrohard")

    def load_then_edit(root: Path, file: Path, source: str):  # type: ignore[no-untyped-def]
        loaded = real_load(root, file, source)
        if source == "a.txt":
            file.write_text(new_text, encoding="utf-8")
            past = time.time() - 30
            os.utime(file, (past, past))
        return loaded

    monkeypatch.setattr(update, "load_file", load_then_edit)
    open_index(docs, data, CONFIG)
    monkeypatch.setattr(update, "load_file", real_load)
    index, report = open_index(docs, data, CONFIG)
    assert (report.action, report.changes.changed) == ("updated", ["a.txt"])
    assert "macrohard" in index.scorer.vocab
    assert_same_as_fresh_build(index, docs)


def test_changed_settings_rebuild_with_one_notice(docs: Path, data: Path) -> None:
    open_index(docs, data, CONFIG)
    other = ChunkingConfig(chunk_size=200, chunk_overlap=0)
    index, report = open_index(docs, data, other)
    assert report.action == "built"
    assert report.notices == [
        f"index settings changed ({index_fingerprint(CONFIG)} → {index_fingerprint(other)}): "
        "rebuilding the whole index"
    ]
    assert [_key(c) for c in index.chunks] == [_key(c) for c in build_index(docs, other).chunks]


def _segment_file(data: Path, docs: Path) -> Path:
    manifest, _ = IndexStore(data, docs).read_manifest()
    return IndexStore(data, docs).path / manifest.segments[0].file


def _array_extent(path: Path, name: str) -> tuple[int, int]:
    f = ArrayFile(path, {"rows": ROW, "blocks": BLOCK_ROW})
    off, dtype, count, _ = f._toc[name]
    return off, count * dtype.itemsize


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("flip doc_ids", "does not match its checksum"),
        ("flip texts", "texts does not match its checksum"),
        ("truncate segment", "not a complete index file (truncated?)"),
        ("garble generation", "does not match its checksum"),
        ("delete records", "cannot read rec-"),
        ("garble CURRENT", "cannot read the index pointer or manifest"),
    ],
)
def test_a_damaged_index_is_reported_in_one_line_and_rebuilt(
    docs: Path, data: Path, damage: str, reason: str
) -> None:
    open_index(docs, data, CONFIG)
    s = IndexStore(data, docs)
    manifest, name = s.read_manifest()
    action, what = damage.split()
    if what in ("doc_ids", "texts"):
        path = _segment_file(data, docs)
        off, length = _array_extent(path, what)
        raw = bytearray(path.read_bytes())
        raw[off + length - 1] ^= 0xFF
        path.write_bytes(bytes(raw))
    elif what == "segment":
        path = _segment_file(data, docs)
        path.write_bytes(path.read_bytes()[:-5])
    elif what == "generation":
        (s.path / name).write_text("{not json", encoding="utf-8")
    elif what == "records":
        (s.path / manifest.records.file).unlink()
    else:
        (s.path / "CURRENT").write_text("{not json", encoding="utf-8")
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


@pytest.mark.parametrize(
    "array",
    ["vocab_blob", "indptr", "doc_ids", "tfs", "doc_len", "max_tf", "rows", "text_offsets",
     "texts", "block_ptr", "blocks", "source_blob", "heading_offsets"],
)
def test_every_byte_of_a_large_segment_is_checked_by_verify(
    docs: Path, data: Path, array: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a large segment is not hashed at open (only its structure is checked); verify
    # hashes it, so a flip anywhere is found by one or the other
    open_index(docs, data, CONFIG)
    store = IndexStore(data, docs)
    assert store.verify() == []
    path = _segment_file(data, docs)
    off, length = _array_extent(path, array)
    raw = bytearray(path.read_bytes())
    raw[off + length // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    monkeypatch.setattr(segment, "HASH_AT_OPEN_BYTES", 0)
    problems = store.verify()
    # a flip that breaks the structure is refused by the open's checks before hashing
    structural = {"doc_ids": f"{path.name}: a posting names a chunk outside the segment"}
    expected = structural.get(array, f"{path.name}: {array} does not match its checksum")
    assert problems[0] == expected
    assert all(p.startswith(f"{path.name}: ") for p in problems)


@pytest.mark.parametrize(
    ("array", "value", "problem"),
    [
        ("doc_ids", 10**6, "a posting names a chunk outside the segment"),
        ("indptr", -1, "the postings pointers are not ascending"),
        ("doc_len", -3, "a chunk has a negative length"),
        ("text_offsets", 10**9, "the text offsets are not ascending"),
    ],
)
def test_load_checks_that_the_arrays_fit_together(
    docs: Path, data: Path, array: str, value: int, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a segment whose checksums were rewritten to match bad arrays (a bug, not a disk
    # fault) is still refused before a query could read past an array's end
    index, _ = open_index(docs, data, CONFIG)
    s = IndexStore(data, docs)
    manifest, _ = s.read_manifest()
    path = s.path / manifest.segments[0].file
    postings, table, _ = segment.read_segment(path)
    arrays = {
        "postings": postings, "table": table,
    }
    bad = getattr(postings, array, None)
    if bad is None:
        bad = table.offsets
    bad = np.array(bad)
    bad[1 if array != "doc_ids" else 0] = value
    if array in ("doc_ids", "indptr", "doc_len"):
        setattr(postings, array, bad)
    else:
        table.offsets = bad
    # (a new file: writing over a mapped one would pull the pages from under the mapping)
    bad_path = path.with_name("bad.dq")
    segment.write_segment(bad_path, arrays["postings"], arrays["table"])
    monkeypatch.setattr(segment, "HASH_AT_OPEN_BYTES", 0)
    with pytest.raises(IndexCorrupt, match=problem):
        segment.read_segment(bad_path)


def test_arrays_are_never_unpickled(tmp_path: Path) -> None:
    # a file whose footer declares an object array (pickles) is refused, not read
    import hashlib
    import json

    path = tmp_path / "evil.dq"
    payload = b"\x80\x04N."  # a pickle
    footer = json.dumps({"x": [64, "|O", 1, hashlib.sha256(payload).hexdigest()]}).encode()
    body = b"DOCQAv3\0".ljust(64, b"\0") + payload
    digest = hashlib.sha256(footer).digest()
    path.write_bytes(body + footer + len(footer).to_bytes(8, "little") + digest + b"DOCQAEND")
    with pytest.raises(IndexCorrupt, match="x has an unexpected type"):
        ArrayFile(path)


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


@pytest.mark.parametrize("stop_at", ["segment", "deletions", "records", "generation", "CURRENT.tmp"])
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
    # and the next start brings it up to date, cleaning the half-written files away
    index, report = open_index(docs, data, CONFIG)
    assert (report.action, report.notices, report.changes.changed) == ("updated", [], ["a.txt"])
    assert_same_as_fresh_build(index, docs)
    s = IndexStore(data, docs)
    live = {p.name for p in s.live_files()}
    previous = {p.name for p in s.path.iterdir()} - live - {"CURRENT", "write.lock", "read.lock"}
    # what is left besides the live generation is the one before it, whole, and no .tmp
    assert not any(name.endswith(".tmp") for name in previous)
    assert sum(name.startswith("gen-") for name in previous) == 1


def _files(data: Path, docs: Path) -> dict[str, int]:
    """The index's files and their inode numbers (a rewritten file gets a new one)."""
    return {p.name: p.stat().st_ino for p in IndexStore(data, docs).path.iterdir()}


def test_one_edited_file_writes_only_its_own_segment(docs: Path, data: Path) -> None:
    open_index(docs, data, CONFIG)
    before = _files(data, docs)
    (docs / "notes" / "c.txt").write_text("Pears and quinces ripen in autumn.\n", encoding="utf-8")
    age(docs)
    index, report = open_index(docs, data, CONFIG)
    assert report.action == "updated"
    after = _files(data, docs)
    new = sorted(name[:3] for name in set(after) - set(before))
    # one segment holding c.txt's chunks, the old segment's deletions, the records and
    # the generation manifest; every file that was there before is untouched
    assert new == ["del", "gen", "rec", "seg"]
    assert all(after[name] == ino for name, ino in before.items() if name != "CURRENT")
    manifest, _ = IndexStore(data, docs).read_manifest()
    newest = manifest.segments[-1]
    assert newest.n_docs == sum(1 for c in index.chunks if c.source == "notes/c.txt")
    assert_same_as_fresh_build(index, docs)


def test_a_touched_file_with_the_same_bytes_rewrites_no_segment(docs: Path, data: Path) -> None:
    open_index(docs, data, CONFIG)
    before = _files(data, docs)
    age(docs, seconds=30)
    index, report = open_index(docs, data, CONFIG)
    assert (report.action, report.saved) == ("loaded", True)
    new = sorted(name[:3] for name in set(_files(data, docs)) - set(before))
    assert new == ["gen", "rec"]
    assert_same_as_fresh_build(index, docs)


def test_many_edits_merge_segments_and_keep_scores(
    docs: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(update, "MERGE_FACTOR", 3)
    open_index(docs, data, CONFIG)
    counts = []
    for i in range(6):
        (docs / f"n{i}.txt").write_text(f"Note {i} about boats and zebras number {i}.\n", encoding="utf-8")
        (docs / "a.txt").write_text(f"Microsoft edit {i} of the OpenAI deal.\n", encoding="utf-8")
        age(docs)
        index, report = open_index(docs, data, CONFIG)
        counts.append(len(IndexStore(data, docs).read_manifest()[0].segments))
        assert_same_as_fresh_build(index, docs)
    assert max(counts) < 3 + 2  # merges keep the count down
    again, report = open_index(docs, data, CONFIG)
    assert report.action == "loaded"
    assert_same_as_fresh_build(again, docs)


def test_a_reader_keeps_the_generation_it_opened_while_a_writer_saves_twice(
    docs: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a start reads CURRENT, then another process saves two generations before the
    # start opens the files: it must still load an index, never rebuild
    open_index(docs, data, CONFIG)
    writer = textwrap.dedent(
        """
        import sys, time, os
        from pathlib import Path
        from index.store import open_index
        from index.chunking import ChunkingConfig
        docs, data = Path(sys.argv[1]), Path(sys.argv[2])
        for i in range(2):
            (docs / "a.txt").write_text(f"Edit {i} about Microsoft.\\n", encoding="utf-8")
            past = time.time() - 60 + i
            os.utime(docs / "a.txt", (past, past))
            open_index(docs, data, ChunkingConfig(chunk_size=120, chunk_overlap=30))
        """
    )
    real = IndexStore.read_manifest
    calls = []

    def read_then_let_a_writer_run(self):  # type: ignore[no-untyped-def]
        result = real(self)
        if not calls:
            calls.append(1)
            subprocess.run(
                [sys.executable, "-c", writer, str(docs), str(data)],
                cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, check=True, timeout=120,
            )
        return result

    monkeypatch.setattr(IndexStore, "read_manifest", read_then_let_a_writer_run)
    index, report = open_index(docs, data, CONFIG, save=False)
    assert report.notices == []
    assert report.action in ("loaded", "updated")


def test_status_lists_stale_and_skipped_files_and_clear_removes_the_index(
    docs: Path, data: Path
) -> None:
    assert index_status(docs, data, CONFIG).exists is False
    open_index(docs, data, CONFIG)
    (docs / "b.md").write_text("# Boats\n\nMotor boats need fuel.\n", encoding="utf-8")
    write(docs, {"new.txt": "A new file.\n"})
    status = index_status(docs, data, CONFIG)
    assert (status.exists, status.problem, status.documents) == (True, None, 3)
    assert status.skipped == [
        ("empty.txt", "empty"),
        ("image.png", f"unsupported type (docqa reads {SUPPORTED})"),
    ]
    assert (status.changes.added, status.changes.changed, status.changes.removed) == (
        ["new.txt"],
        ["b.md"],
        [],
    )
    assert status.size_bytes == sum(p.stat().st_size for p in IndexStore(data, docs).live_files())
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


def test_a_read_only_index_built_right_after_its_documents_loads_quietly(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the usual container image: documents copied, index built at once, all mounted
    # read-only; every file is "racy" in the saved records, so each start hashes them
    docs = tmp_path / "docs"
    write(docs, FILES)
    open_index(docs, data, CONFIG)
    age(docs, seconds=10)
    make_read_only(monkeypatch, data)
    for _ in range(2):
        index, report = open_index(docs, data, CONFIG)
        assert (report.action, report.notices) == ("loaded", [])
        assert_same_as_fresh_build(index, docs)


def test_a_string_table_equals_exactly_its_strings() -> None:
    table = segment.StringTable.of(["ab", "c", "d\u00e9", "bad\udcff"])
    assert table.equals(["ab", "c", "d\u00e9", "bad\udcff"])
    assert not table.equals(["a", "bc", "d\u00e9", "bad\udcff"])
    assert not table.equals(["ab", "c", "d\u00e9"])
    ascii_table = segment.StringTable.of(["ab", "c", ""])
    assert ascii_table.equals(["ab", "c", ""])
    assert not ascii_table.equals(["a", "bc", ""])
    assert not ascii_table.equals(["ab", "", "c"])
    assert not ascii_table.equals(["ab", "d", ""])


def test_the_scan_sees_the_files_the_loader_walks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # scan() is a faster copy of index.loaders.iter_files's walk: they must agree, with
    # the kernel's list_dir and with os.scandir where the kernel is not built
    root = tmp_path / "docs"
    write(root, {
        "b.txt": "b", "a/z.md": "z", "a/b/c.txt": "c", ".hidden.txt": "h", ".git/x.txt": "x",
        "a/.cache/y.txt": "y", "odd name é.txt": "o",
    })
    outside = tmp_path / "outside"
    write(outside, {"secret.txt": "s"})
    (root / "link-out").symlink_to(outside, target_is_directory=True)
    (root / "a" / "loop").symlink_to(root, target_is_directory=True)
    (root / "alias").symlink_to(root / "a" / "b", target_is_directory=True)
    (root / "file-link.txt").symlink_to(root / "b.txt")
    (root / "dangling.txt").symlink_to(root / "nowhere.txt")
    from index.loaders import iter_files

    os.mkfifo(root / "pipe.txt")
    (root / "self-loop.txt").symlink_to(root / "self-loop.txt")
    (root / "bad\udcff.txt").write_text("not UTF-8 in its name", encoding="utf-8")
    expected = [source for _, source in iter_files(root)]
    scanned = update.scan(root)
    assert [f.source for f in scanned] == expected
    for f in scanned:
        st = os.stat(f.where) if os.path.exists(f.where) else os.lstat(f.where)
        assert (f.size, f.mtime_ns) == (st.st_size, st.st_mtime_ns)
    monkeypatch.setattr(update, "_list_dir", None)
    assert update.scan(root) == scanned
    assert {"pipe.txt", "self-loop.txt", "dangling.txt", "bad\\xff.txt"} <= set(expected)
    assert "alias/c.txt" in expected or "a/b/c.txt" in expected


def test_records_keep_the_saved_rows_and_take_the_fresh_ones() -> None:
    # what an update saves: a saved row per unchanged file with its new stat (-1 for a
    # racy mtime), fresh rows for the files just indexed, removed and unindexed files
    # dropped, the reasons still in use numbered in order of first use
    from index.store.format import RECORD, FileRecords
    from index.store.segment import StringTable

    now = 2_000_000_000.0
    old_ns, racy_ns = int((now - 3600) * 1e9), int((now - 1) * 1e9)
    sha = {name: bytes([i + 1]) * 32 for i, name in enumerate("abcdefg")}
    old = FileRecords(
        np.array([
            (10, old_ns, sha["a"], 0, 0, 3, -1),
            (11, old_ns, sha["b"], -1, 0, 0, 1),
            (12, old_ns, sha["c"], 0, 3, 2, -1),
            (13, old_ns, sha["d"], -1, 0, 0, 0),
            (14, old_ns, sha["e"], 1, 0, 1, -1),
        ], dtype=RECORD),
        StringTable.of(["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]),
        StringTable.of(["too large", "empty"]),
    )
    files = [
        update.FileStat("/d/a.txt", "a.txt", 20, old_ns + 5),
        update.FileStat("/d/b.txt", "b.txt", 21, racy_ns),
        update.FileStat("/d/c.txt", "c.txt", 22, old_ns),
        update.FileStat("/d/e.txt", "e.txt", 24, old_ns),
        update.FileStat("/d/f.txt", "f.txt", 25, old_ns),
        update.FileStat("/d/g.txt", "g.txt", 26, old_ns),  # appeared after the diff
    ]
    placed = {
        "c.txt": (2, 0, 4, update.FileResult("c.txt", 22, old_ns, sha["g"].hex())),
        "e.txt": (-1, 0, 0, update.FileResult("e.txt", 24, racy_ns, sha["e"].hex(), "empty")),
        "f.txt": (-1, 0, 0, update.FileResult("f.txt", 25, old_ns, "", "binary")),
    }
    records = update._records(files, old, placed, [], now)
    assert records.sources.decoded() == ["a.txt", "b.txt", "c.txt", "e.txt", "f.txt"]
    assert records.reasons.decoded() == ["empty", "binary"]
    assert records.rows.tolist() == np.array([
        (20, old_ns + 5, sha["a"], 0, 0, 3, -1),
        (21, -1, sha["b"], -1, 0, 0, 0),
        (22, old_ns, sha["g"], 2, 0, 4, -1),
        (24, -1, sha["e"], -1, 0, 0, 0),
        (25, old_ns, bytes(32), -1, 0, 0, 1),
    ], dtype=RECORD).tolist()
    # the usual start: the same files, only stats moved; the saved sources are reused
    same = update._records(files[:2] + [files[2]._replace(size=12)], FileRecords(
        old.rows[:3], StringTable.of(["a.txt", "b.txt", "c.txt"]), old.reasons
    ), {}, [], now)
    assert [(r.source, r.size, r.mtime_ns, r.skipped) for r in same.all()] == [
        ("a.txt", 20, old_ns + 5, None), ("b.txt", 21, -1, "empty"), ("c.txt", 12, old_ns, None),
    ]
    assert same.reasons.decoded() == ["empty"]


def test_records_find_a_source_in_the_blob_as_the_map_would() -> None:
    # the first lookups search the sources' blob (no map of every file): a match must be
    # a whole source, the last of equal ones, empty sources included
    from index.store.format import RECORD, FileRecords
    from index.store.segment import StringTable

    sources = ["a.txt", "b.txt", "ab.txt", "a", "", "b/a.txt", "x\udcff.txt", "a.txt"]
    records = FileRecords(np.zeros(len(sources), RECORD), StringTable.of(sources), StringTable.of([]))
    questions = [*sources, "b", "txt", "a.tx", ".txt", "zz"]
    found = [records.where(q) for q in questions]
    assert found == [7, 1, 2, 3, 4, 5, 6, 7, None, None, None, None, None]
    assert [records.where(q) for q in questions] == found  # past 16 lookups: the map
