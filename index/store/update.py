"""Bringing the saved index up to date: scan the documents folder, diff it against the
saved file records, write the added and changed files into a new segment, mark the
chunks of changed and removed files deleted, merge segments when a tier fills up.

Files are loaded, chunked and tokenized in a process pool when there are many of them
(both cores), streamed into segments of at most ``SEGMENT_CHUNKS`` chunks, each written
to disk and mapped back as soon as it is full, so memory grows with a segment, not with
the folder."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import stat
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from index.chunking import ChunkingConfig, chunk_spans
from index.errors import NoDocumentsError
from index.loaders import SUPPORTED, Skipped, load_documents, load_file, printable_source
from index.retrieval import Index
from index.scoring import Counted, Postings, PostingsBuilder, Vocabulary, count_terms
from index.store.format import (
    RACY_SECONDS,
    RECORD,
    FileRecords,
    IndexCorrupt,
    IndexMissing,
    IndexOutdated,
    IndexStore,
    Segment,
    StoredIndex,
    index_fingerprint,
)
from index.store.segment import StringTable
from index.store.table import BLOCK_ROW, ROW, ChunkTable, ChunkTableBuilder
from index.tokenize import tokenize_many

log = logging.getLogger("docqa.store")

# chunks per segment written by a build; a segment is the unit of memory while building
SEGMENT_CHUNKS = 200_000
# a merge joins this many segments of one size tier (Lucene's segments per tier)
MERGE_FACTOR = 8
# a segment with more than this share of its chunks deleted is rewritten
EXPUNGE_SHARE = 0.5
# below this many files (or bytes) to read, a pool costs more than it saves
POOL_MIN_FILES = 64
POOL_MIN_BYTES = 4 * 2**20

# --- scanning the documents folder ------------------------------------------------------


class FileStat(NamedTuple):
    """One file of the documents folder as a scan found it."""

    where: str  # its path, as a string (a Path per file costs more than the scan)
    source: str
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        return Path(self.where)


_source_of = itemgetter(1)


def scan(root: Path) -> list[FileStat]:
    """Every file under ``root`` as ``index.loaders.iter_files`` yields them (hidden names
    passed over, links followed while they stay inside ``root``, printable sources, sorted;
    a broken link, a link loop or a pipe with its own stat, so the loader gives its
    reason), with its size and mtime. The same walk with ``os.scandir`` and plain
    strings: a folder of 75,000 files is scanned at every start, and pathlib costs most
    of that (``tests/test_store.py`` checks that the two walks agree)."""
    top = os.fspath(root)
    root_real = os.path.realpath(top)
    found: list[FileStat] = []
    seen: set[str] = set()

    def walk(folder: str, prefix: str) -> None:
        real = os.path.realpath(folder)
        if real in seen or not (real == root_real or real.startswith(root_real + os.sep)):
            return
        seen.add(real)
        if _list_dir is not None:
            listed = _list_dir(folder)
            if listed is None:
                return
            names, sizes, mtimes, dirs = listed
            base = folder + os.sep
            for name, size, mtime in zip(names, sizes, mtimes):
                source = prefix + name
                if not source.isprintable():  # (every character printable_source escapes is not)
                    source = printable_source(source)
                found.append(FileStat(base + name, source, size, mtime))
            for name in dirs:
                walk(base + name, prefix + name + "/")
            return
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        subdirs = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()  # follows links, as os.walk(followlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                subdirs.append(entry)
                continue
            try:
                st = entry.stat()
            except OSError:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue  # vanished since the walk
            source = prefix + name
            if not source.isprintable():  # (every character printable_source escapes is not)
                source = printable_source(source)
            found.append(FileStat(entry.path, source, st.st_size, st.st_mtime_ns))
        for entry in subdirs:
            walk(entry.path, prefix + entry.name + "/")

    walk(top, "")
    # as iter_files sorts (a name escaped the same as another's after it by path); each
    # folder's files come listed in order, so this mostly merges runs
    found.sort(key=_by_source)
    return found


_by_source = itemgetter(1, 0)

try:  # one call per folder lists its entries with their stats (index/_kernel.c)
    from index._kernel import list_dir as _list_dir
except ImportError:
    _list_dir = None


# the digest of what cannot be read (a pipe, a broken link), as the store keeps it
_NO_DIGEST = "0" * 64


def _sha256(path: Path) -> str:
    try:
        with open(path, "rb", opener=_nonblocking) as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return _NO_DIGEST  # a pipe or device: never read (the loader skips it)
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return _NO_DIGEST


def _nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


@dataclass
class Changes:
    """How the documents folder differs from the saved index."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # same content, new mtime (touched or copied): nothing to re-index, stat to update
    touched: list[str] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def summary(self) -> str:
        parts = [
            f"{len(names)} {label}"
            for names, label in ((self.added, "added"), (self.changed, "changed"), (self.removed, "removed"))
            if names
        ]
        return ", ".join(parts) or "no changes"


def diff(records: FileRecords, files: Sequence[FileStat]) -> Changes:
    """Compare by size and mtime first; hash only the files whose stat moved."""
    if len(files) == len(records) and records.sources.equals([f.source for f in files]):
        # the usual start: the same files, in the same order (records follow the scan):
        # compare the stats as columns, not file by file
        changes = Changes()
        sizes = np.fromiter((f.size for f in files), dtype=np.int64, count=len(files))
        mtimes = np.fromiter((f.mtime_ns for f in files), dtype=np.int64, count=len(files))
        moved = (records.rows["size"] != sizes) | (records.rows["mtime_ns"] != mtimes)
        for i in np.flatnonzero(moved).tolist():
            f = files[i]
            if int(sizes[i]) == int(records.rows["size"][i]) and _sha256(f.path) == records.sha256(i):
                changes.touched.append(f.source)
            else:
                changes.changed.append(f.source)
        return changes
    changes = Changes()
    seen = np.zeros(len(records), dtype=bool)
    sizes = records.rows["size"].tolist()
    mtimes = records.rows["mtime_ns"].tolist()
    for f in files:
        i = records.where(f.source)
        if i is None:
            changes.added.append(f.source)
            continue
        seen[i] = True
        if sizes[i] == f.size and mtimes[i] == f.mtime_ns:
            continue
        if sizes[i] == f.size and _sha256(f.path) == records.sha256(i):
            changes.touched.append(f.source)
        else:
            changes.changed.append(f.source)
    changes.removed.extend(records.sources[int(i)] for i in np.flatnonzero(~seen))
    return changes


# --- indexing one file (in a worker process or in this one) ----------------------------


@dataclass
class FileResult:
    """One file loaded, chunked and counted: what a segment needs, in compact form.

    Its chunks are ``first:first + n_chunks`` of ``batch``, the chunks and counted terms
    of the files indexed together (one pool task), shared by their results: a worker
    sends numpy arrays and one text buffer per batch, not objects per chunk or token."""

    source: str
    size: int
    mtime_ns: int
    sha256: str
    skipped: str | None = None
    batch: IndexedBatch | None = None
    first: int = 0
    n_chunks: int = 0


class IndexedBatch(NamedTuple):
    table: ChunkTable
    counted: Counted


def _racy(mtime_ns: int, now: float) -> bool:
    return now - mtime_ns / 1e9 < RACY_SECONDS


def index_file(root: Path, path: Path, source: str, config: ChunkingConfig) -> FileResult:
    """Load, chunk and tokenize one file (see ``index_files``)."""
    return index_files([(root, path, source, config)])[0]


def index_files(jobs: Sequence[tuple[Path, Path, str, ChunkingConfig]]) -> list[FileResult]:
    """Load, chunk and tokenize files; their chunks are tokenized and counted in one
    batch (see ``FileResult``).

    A record keeps the stat taken before the bytes were read and the hash of those bytes,
    so an edit made while the file is being indexed never passes for the indexed text:
    the next start sees another hash (and a stat that moved meanwhile is not trusted)."""
    from index.store.table import _KIND_IDS

    results: list[FileResult] = []
    texts: list[str] = []
    table = ChunkTableBuilder()
    for root, path, source, config in jobs:
        before = _stat(path)
        digest = _sha256(path)
        loaded = load_file(root, path, source)
        size = before.st_size if before else 0
        mtime = before.st_mtime_ns if before else -1
        after = _stat(path)
        if before is None or after is None or (after.st_size, after.st_mtime_ns) != (size, mtime):
            mtime = -1  # it moved while we read it: hash it again at the next start
        if isinstance(loaded, Skipped):
            results.append(FileResult(source, size, mtime, digest, skipped=loaded.reason))
            continue
        rows, chunk_texts, headings, blocks, block_counts = [], [], [], [], []
        text = loaded.text
        for span in chunk_spans(loaded, config):
            rows.append(
                (0, span.start_line, span.end_line, span.start, span.end,
                 -1 if span.page is None else span.page, 0)
            )
            chunk_text = text[span.start : span.end]
            chunk_texts.append(chunk_text.encode("utf-8"))
            headings.append(span.heading_path)
            blocks.extend((a, b, _KIND_IDS[kind]) for a, b, kind in span.blocks)
            block_counts.append(len(span.blocks))
            # what indexed_text gives the chunk: its heading path, then its text
            path_ = span.heading_path
            texts.append("\n".join((*path_, chunk_text)) if path_ else chunk_text)
        results.append(FileResult(source, size, mtime, digest, first=table.count, n_chunks=len(rows)))
        table.add_encoded(source, rows, chunk_texts, headings, blocks, block_counts)
    batch = IndexedBatch(table.finish(), count_terms(tokenize_many(texts)))
    for result in results:
        if result.skipped is None:
            result.batch = batch
    return results


def _stat(path: Path) -> os.stat_result | None:
    """The stat ``scan`` records: the file's, or for a broken link or a link loop the
    link's own (else such a link would differ from its record at every start)."""
    try:
        return os.stat(path)
    except OSError:
        try:
            return os.lstat(path)
        except OSError:
            return None


# files per task: enough for the word cache to pay off, few enough to stream
_BATCH = 32


def _results(
    root: Path, config: ChunkingConfig, files: Sequence[FileStat]
) -> Iterator[FileResult]:
    """``index_file`` of each file, in order: in a process pool when there are many."""
    jobs = [(root, f.path, f.source, config) for f in files]
    batches = [jobs[i : i + _BATCH] for i in range(0, len(jobs), _BATCH)]
    cores = os.cpu_count() or 1
    big = len(files) >= POOL_MIN_FILES or sum(f.size for f in files) >= POOL_MIN_BYTES
    # fork is the only start method that needs no guarded __main__ (scripts, python -c),
    # and forking is safe only while this process runs no other thread (a live index's
    # poller, the bot's loop): those update a few files at a time, in this process
    if cores < 2 or not big or threading.active_count() > 1 or "fork" not in _start_methods():
        for batch in batches:
            yield from index_files(batch)
        return
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes=cores) as pool:
        for results in pool.imap(index_files, batches):
            yield from results


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


# --- segments ---------------------------------------------------------------------------


class SegmentWriter:
    """Takes indexed files in order and cuts them into segments of ``max_chunks``
    chunks, written to ``store`` when it can (mapped back, so they leave memory)."""

    def __init__(self, store: IndexStore | None, max_chunks: int = SEGMENT_CHUNKS) -> None:
        self.store = store
        self.max_chunks = max_chunks
        self.segments: list[Segment] = []
        self.error: OSError | None = None
        self._reset()

    def _reset(self) -> None:
        self._postings = PostingsBuilder()
        self._table = ChunkTableBuilder()
        self._count = 0  # chunks in this segment so far, the pending run's included
        # consecutive files of one batch, added to the builders together: per file, the
        # numpy calls would cost more than the copying
        self._run: tuple[IndexedBatch, int, int] | None = None

    def add(self, result: FileResult) -> tuple[int, int]:
        """Append one file's chunks; returns (segment number, first chunk in it)."""
        n = result.n_chunks
        if self._count and self._count + n > self.max_chunks:
            self.flush()
        first = self._count
        if result.batch is not None and n:
            run = self._run
            if run is not None and run[0] is result.batch and run[2] == result.first:
                self._run = (run[0], run[1], run[2] + n)
            else:
                self._add_run()
                self._run = (result.batch, result.first, result.first + n)
            self._count += n
        return len(self.segments), first

    def _add_run(self) -> None:
        if self._run is not None:
            batch, lo, hi = self._run
            self._table.add_rows(batch.table, lo, hi)
            self._postings.add_counted(batch.counted, lo, hi)
            self._run = None

    def flush(self) -> None:
        self._add_run()
        if not self._table.count:
            return
        postings, table = self._postings.postings(), self._table.finish()
        self._reset()
        segment = Segment(postings, table)
        if self.store is not None and self.error is None:
            try:
                segment = self.store.write_segment(postings, table)
            except OSError as exc:
                self.error = exc  # keep building in memory; the caller says it once
        self.segments.append(segment)

    def finish(self) -> list[Segment]:
        self.flush()
        return self.segments


def _tier(live: int) -> int:
    return int(math.log10(max(live, 1000) / 1000) * 2)  # two tiers per factor of ten


def merge_plan(segments: Sequence[Segment]) -> list[list[int]]:
    """Groups of segment positions to merge: a tier with ``MERGE_FACTOR`` segments or
    more, and any segment with more than ``EXPUNGE_SHARE`` of its chunks deleted."""
    groups: list[list[int]] = []
    taken: set[int] = set()
    for i, seg in enumerate(segments):
        if seg.live and seg.deleted / seg.n_docs > EXPUNGE_SHARE:
            groups.append([i])
            taken.add(i)
    tiers: dict[int, list[int]] = {}
    for i, seg in enumerate(segments):
        if i not in taken and seg.live:
            tiers.setdefault(_tier(seg.live), []).append(i)
    for members in tiers.values():
        if len(members) >= MERGE_FACTOR:
            groups.append(members)
    return groups


def merge_segments(segments: Sequence[Segment]) -> tuple[Postings, ChunkTable, list[np.ndarray]]:
    """One segment of the live chunks of ``segments``, in order; and for each input, its
    local ids' new ids (-1 where deleted)."""
    new_ids: list[np.ndarray] = []
    offset = 0
    table = ChunkTableBuilder()
    doc_len = []
    for seg in segments:
        live = np.ones(seg.n_docs, dtype=bool) if seg.deletions is None else seg.deletions.mask == 0
        ids = np.full(seg.n_docs, -1, dtype=np.int64)
        ids[live] = np.arange(offset, offset + int(live.sum()))
        new_ids.append(ids)
        offset += int(live.sum())
        table.add_live(seg.table, np.flatnonzero(live))
        doc_len.append(seg.postings.doc_len[live])
    vocab_bytes = sorted({v for seg in segments for v in _terms_bytes(seg.postings.vocab)})
    where = {t: i for i, t in enumerate(vocab_bytes)}
    parts_t, parts_d, parts_f = [], [], []
    for seg, ids in zip(segments, new_ids):
        p = seg.postings
        to_new = np.fromiter(
            (where[t] for t in _terms_bytes(p.vocab)), dtype=np.int32, count=len(p.vocab)
        )
        term_of = np.repeat(to_new, np.diff(p.indptr))
        docs = ids[p.doc_ids]
        keep = docs >= 0
        parts_t.append(term_of[keep])
        parts_d.append(docs[keep].astype(np.int32))
        parts_f.append(p.tfs[keep].astype(np.uint32))
    terms = np.concatenate(parts_t) if parts_t else np.zeros(0, np.int32)
    docs = np.concatenate(parts_d) if parts_d else np.zeros(0, np.int32)
    tfs = np.concatenate(parts_f) if parts_f else np.zeros(0, np.uint32)
    # inputs in order and each term's chunks ascending within an input, so a stable sort
    # by term leaves every term's chunks ascending
    order = np.argsort(terms, kind="stable")
    counts = np.bincount(terms, minlength=len(vocab_bytes))
    indptr = np.zeros(len(vocab_bytes) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    from index.scoring import _max_per_term, _smallest_uint

    max_tf = int(tfs.max()) if len(tfs) else 0
    sorted_tfs = tfs[order].astype(_smallest_uint(max_tf))
    offsets = np.zeros(len(vocab_bytes) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in vocab_bytes], out=offsets[1:])
    postings = Postings(
        vocab=Vocabulary(b"".join(vocab_bytes), offsets),
        indptr=indptr,
        doc_ids=docs[order],
        tfs=sorted_tfs,
        doc_len=np.concatenate(doc_len).astype(np.int32) if doc_len else np.zeros(0, np.int32),
        max_tf=_max_per_term(indptr, sorted_tfs),
    )
    return postings, table.finish(), new_ids


def _terms_bytes(vocab: Vocabulary) -> Iterator[bytes]:
    blob, offsets = vocab.blob, vocab.offsets.tolist()
    return (bytes(blob[offsets[i] : offsets[i + 1]]) for i in range(len(offsets) - 1))


# --- building and updating --------------------------------------------------------------


def _untracked(items: Iterable[Any]) -> Iterable[Any]:
    return items


@dataclass
class IndexReport:
    """What ``open_index`` did, for the adapter to show (the library prints nothing)."""

    action: str  # "loaded", "updated" or "built"
    changes: Changes
    notices: list[str]
    seconds: float
    saved: bool
    documents: int
    chunks: int
    skipped: list[Skipped] = field(default_factory=list)
    files: list[FileStat] = field(default_factory=list)  # the scan this start made
    written: list[str] = field(default_factory=list)  # files written to the data folder
    embedded: int | None = None  # chunks embedded by this start (None: semantic layer off)

    def line(self) -> str:
        what = {
            "loaded": "loaded the saved index (up to date)",
            "updated": f"updated the saved index ({self.changes.summary()})",
            "built": "built the index",
        }[self.action]
        docs = "document" if self.documents == 1 else "documents"
        embedded = f", {self.embedded} embedded" if self.embedded else ""
        return (
            f"{what}: {self.documents} {docs}, {self.chunks} chunks{embedded} "
            f"in {self.seconds:.2f} s"
        )


def _no_documents(root: Path) -> NoDocumentsError:
    return NoDocumentsError(
        f"no documents found in {root}: add {SUPPORTED} files, "
        "or point DOCQA_DOCS_DIR (or --docs) at another folder"
    )


def _load_saved(
    store: IndexStore, fingerprint: str, notices: list[str]
) -> StoredIndex | None:
    try:
        return store.load(fingerprint)
    except IndexMissing:
        return None
    except IndexOutdated as exc:
        notices.append(f"{exc}: rebuilding the whole index")
    except IndexCorrupt as exc:
        notices.append(f"saved index in {store.path} is unusable ({exc}): rebuilding it")
    return None


def open_index(
    root: Path,
    data_dir: Path,
    config: ChunkingConfig,
    track: Callable[[Iterable[Any]], Iterable[Any]] = _untracked,
    full: bool = False,
    save: bool = True,
    files: list[FileStat] | None = None,
    embedder: Any | None = None,
    embed_track: Callable[[Iterable[str]], Iterable[str]] = _untracked,
) -> tuple[Index, IndexReport]:
    """The index of ``root``: loaded from ``data_dir`` when it is there and current,
    brought up to date file by file when documents changed, built when there is none,
    it is corrupt or the settings changed (``full`` forces that). ``files`` is a scan of
    ``root`` already made (the report carries the one this call made). With an
    ``embedder`` (the semantic layer), the chunks that have no vector yet are embedded
    (``index.store.embedding``; ``embed_track`` may wrap them in a progress bar).

    Raises NoDocumentsError when the folder holds no usable document.
    """
    started = time.perf_counter()
    if not root.is_dir():
        load_documents(root)  # raises NoDocumentsError with the usual advice
    store = IndexStore(data_dir, root)
    fingerprint = index_fingerprint(config)
    notices: list[str] = []
    old = None if full else _load_saved(store, fingerprint, notices)
    semantic = None if embedder is None else _Semantic(embedder, embed_track, store, fingerprint)
    if old is not None and embedder is not None:
        semantic.drop_other_model(old, notices)  # type: ignore[union-attr]
    files = scan(root) if files is None else files
    if old is None:
        changes = Changes(added=[f.source for f in files])
    else:
        changes = diff(old.records, files)
    if old is not None and not changes.stale:
        report = _report("loaded", changes, notices, started, False, old, files)
        if changes.touched and save:
            # only stats moved: save the new ones quietly if we can (a read-only mount
            # cannot, and loads the same index every time all the same)
            records = _records(files, old.records, {}, [], time.time())
            try:
                with store.writing():
                    names = store.commit(old.segments, records, fingerprint)
                report.saved, report.written = True, [names]
            except OSError as exc:
                log.debug("could not save new file stats to %s: %s", store.path, exc)
        vectors = semantic.vectors(old, save, report) if semantic is not None else None
        return _index_of(root, config, old, files, vectors), report
    return _update(
        root, config, store, fingerprint, old, files, changes, notices, track, save, started,
        semantic,
    )


def _update(
    root: Path, config: ChunkingConfig, store: IndexStore, fingerprint: str,
    old: StoredIndex | None, files: list[FileStat], changes: Changes, notices: list[str],
    track: Callable[[Iterable[Any]], Iterable[Any]], save: bool, started: float,
    semantic: _Semantic | None = None,
) -> tuple[Index, IndexReport]:
    writable = save
    if save:
        try:
            store.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            writable = False
            notices.append(f"could not save the index to {store.path} ({exc.strerror or exc}); using it unsaved")
    lock = store.writing() if writable else _nothing()
    saved = False
    written: list[str] = []
    with lock:
        segments = [] if old is None else [
            Segment(s.postings, s.table, s.deletions, s.ref, s.files, s.vectors)
            for s in old.segments
        ]
        # the chunks of changed and removed files leave their segments
        if old is not None:
            gone = [*changes.changed, *changes.removed]
            per_segment: dict[int, list[np.ndarray]] = {}
            for source in gone:
                i = old.records.where(source)
                if i is None or old.records.reason(i) is not None:
                    continue
                row = old.records.rows[i]
                first, n = int(row["first"]), int(row["n_chunks"])
                per_segment.setdefault(int(row["segment"]), []).append(np.arange(first, first + n))
            from index.scoring import Deletions

            for s, ranges in per_segment.items():
                seg = segments[s]
                base = seg.deletions or Deletions.none(seg.n_docs)
                seg.deletions = base.delete(seg.postings, np.concatenate(ranges))
        fresh = set(changes.added) | set(changes.changed)
        to_index = [f for f in files if f.source in fresh]
        writer = SegmentWriter(store if writable else None, SEGMENT_CHUNKS)
        placed: dict[str, tuple[int, int, int, FileResult]] = {}
        for result in track(_results(root, config, to_index)):
            seg_no, first, n = -1, 0, 0
            if result.skipped is not None:
                log.warning("skipped %s: %s", result.source, result.skipped)
            else:
                seg_no, first = writer.add(result)
                n = result.n_chunks
            # keep only what the record needs: the chunks are in the writer now
            placed[result.source] = (seg_no, first, n, FileResult(
                result.source, result.size, result.mtime_ns, result.sha256, result.skipped
            ))
        new_segments = writer.finish()
        if writer.error is not None:
            writable = False
            notices.append(
                f"could not save the index to {store.path} ({writer.error.strerror or writer.error}); using it unsaved"
            )
        n_old = len(segments)
        placed = {
            source: ((seg + n_old) if seg >= 0 else -1, first, n, res)
            for source, (seg, first, n, res) in placed.items()
        }
        segments += new_segments
        records = _records(files, old.records if old else None, placed, segments, time.time())
        if not records.documents:
            raise _no_documents(root)
        segments, records = _merge(segments, records, store if writable else None)
        if writable:
            try:
                name = store.commit(segments, records, fingerprint)
                saved = True
                written = [name] + [s.ref.file for s in new_segments if s.ref is not None]
            except OSError as exc:
                notices.append(
                    f"could not save the index to {store.path} ({exc.strerror or exc}); using it unsaved"
                )
    stored = StoredIndex(None, segments, records, store.path if saved else None)
    action = "updated" if old is not None else "built"
    report = _report(action, changes, notices, started, saved, stored, files)
    report.written = written
    vectors = semantic.vectors(stored, saved, report) if semantic is not None else None
    return _index_of(root, config, stored, files, vectors), report


class _Semantic:
    """The semantic layer's part of ``open_index``: vectors of another model dropped,
    the chunks without a vector embedded (``index.store.embedding``)."""

    def __init__(
        self, embedder: Any, track: Callable[[Iterable[str]], Iterable[str]],
        store: IndexStore, fingerprint: str,
    ) -> None:
        self.embedder, self.track, self.store, self.fingerprint = embedder, track, store, fingerprint

    def drop_other_model(self, stored: StoredIndex, notices: list[str]) -> None:
        from index.store.embedding import drop_other_model

        notice = drop_other_model(stored, self.embedder.fingerprint)
        if notice:
            notices.append(notice)

    def vectors(self, stored: StoredIndex, saved: bool, report: IndexReport) -> Any:
        from index.store.embedding import chunk_vectors, embed_pending

        began = time.perf_counter()
        done = embed_pending(
            self.store if saved else None, stored, self.embedder, self.fingerprint,
            self.track, report.notices,
        )
        report.embedded = done.embedded
        report.seconds += time.perf_counter() - began
        return chunk_vectors(stored, self.embedder)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _records(
    files: Sequence[FileStat],
    old: FileRecords | None,
    placed: dict[str, tuple[int, int, int, FileResult]],
    segments: Sequence[Segment],
    now: float,
) -> FileRecords:
    """One record per scanned file: fresh ones for the files just indexed, the saved
    ones (with their new stat) for the others. As columns: an edit in a folder of 75,000
    files copies the saved rows at once, not file by file."""
    sources = [f.source for f in files]
    n = len(files)
    in_old = np.full(n, -1, dtype=np.int64) if old is None else old.positions(sources)
    is_placed = np.fromiter((s in placed for s in sources), dtype=bool, count=n)
    from_old = ~is_placed & (in_old >= 0)
    rows = np.zeros(n, dtype=RECORD)
    # reasons as keys into the saved reasons followed by the new ones, renumbered below
    names = [] if old is None else old.reasons.decoded()
    key_of = {name: i for i, name in enumerate(names)}
    keys = np.full(n, -1, dtype=np.int64)
    if old is not None and from_old.any():
        saved = old.rows[in_old[from_old]]
        rows[from_old] = saved
        keys[from_old] = saved["reason"]
        size = np.fromiter((f.size for f in files), dtype=np.int64, count=n)
        mtime = np.fromiter((f.mtime_ns for f in files), dtype=np.int64, count=n)[from_old]
        rows["size"][from_old] = size[from_old]
        # the same test as _racy, on the column
        rows["mtime_ns"][from_old] = np.where(now - mtime / 1e9 < RACY_SECONDS, -1, mtime)
    fresh = np.flatnonzero(is_placed)
    if len(fresh):
        made = []
        for i in fresh.tolist():
            seg, first, n_chunks, res = placed[sources[i]]
            mtime_ns = -1 if res.mtime_ns < 0 or _racy(res.mtime_ns, now) else res.mtime_ns
            digest = bytes.fromhex(res.sha256) if res.sha256 else bytes(32)
            made.append((res.size, mtime_ns, digest, seg, first, n_chunks, -1))
            if res.skipped is not None:
                keys[i] = key_of.setdefault(res.skipped, len(names))
                if keys[i] == len(names):
                    names.append(res.skipped)
        rows[fresh] = np.array(made, dtype=RECORD)
    keep = is_placed | from_old  # a file that appeared after the scan's diff: the next start
    if not keep.all():
        rows, keys = rows[keep], keys[keep]
        sources = [s for s, k in zip(sources, keep.tolist()) if k]
    # the reasons in use, numbered in order of first use
    used = keys >= 0
    uniq, first_use = np.unique(keys[used], return_index=True)
    order = uniq[np.argsort(first_use, kind="stable")]
    renumber = np.full(len(names) + 1, -1, dtype=np.int64)
    renumber[order] = np.arange(len(order))
    rows["reason"] = renumber[keys]  # keys of -1 take the last entry: -1
    if old is not None and len(sources) == len(old) and not is_placed.any() and keep.all() and (
        in_old == np.arange(n)
    ).all():
        table = old.sources  # the same files, in the same order
    else:
        table = StringTable.of(sources)
    return FileRecords(rows, table, StringTable.of([names[k] for k in order.tolist()]))


def _merge(
    segments: list[Segment], records: FileRecords, store: IndexStore | None
) -> tuple[list[Segment], FileRecords]:
    """Apply the merge policy; records follow their chunks into the merged segments.
    Segments left without a live chunk are dropped."""
    groups = merge_plan(segments)
    empty = [i for i, s in enumerate(segments) if s.live == 0 and not any(i in g for g in groups)]
    if not groups and not empty:
        return segments, records
    rows = records.rows.copy()
    moved: dict[int, tuple[int, np.ndarray]] = {}  # old position → (group, new ids)
    merged: list[Segment] = []
    for g, group in enumerate(groups):
        postings, table, new_ids = merge_segments([segments[i] for i in group])
        segment = Segment(postings, table)
        if store is not None:
            segment = store.write_segment(postings, table)
        if any(segments[i].vectors is not None for i in group):
            from index.store.embedding import merged_segment_vectors

            segment.vectors = merged_segment_vectors(store, [segments[i] for i in group])
        merged.append(segment)
        for i, ids in zip(group, new_ids):
            moved[i] = (g, ids)
    drop = {i for group in groups for i in group} | set(empty)
    kept = [i for i in range(len(segments)) if i not in drop]
    position = {old: new for new, old in enumerate(kept)}
    result = [segments[i] for i in kept] + merged
    # as columns: each indexed file's segment renumbered, its first chunk moved with it
    indexed = rows["reason"] < 0
    was = records.rows["segment"]
    new_segment = np.full(len(segments), -1, dtype=np.int64)
    for old_seg, new_seg in position.items():
        new_segment[old_seg] = new_seg
    for old_seg, (g, ids) in moved.items():
        new_segment[old_seg] = len(kept) + g
        mine = indexed & (was == old_seg)
        rows["first"][mine] = np.asarray(ids)[rows["first"][mine]]
    rows["segment"][indexed] = new_segment[was[indexed]]
    return result, FileRecords(rows, records.sources, records.reasons)


class FileStats(Mapping[str, tuple[int, int]]):
    """source → (size, mtime_ns) of a scan, looked up in the scan itself (sorted by
    source): a start answers a question citing a few files, no dict of 75,000 is built."""

    def __init__(self, files: Sequence[FileStat]) -> None:
        self.files = files

    def __getitem__(self, source: str) -> tuple[int, int]:
        i = bisect_left(self.files, source, key=_source_of)
        if i < len(self.files) and self.files[i].source == source:
            return self.files[i].size, self.files[i].mtime_ns
        raise KeyError(source)

    def __iter__(self) -> Iterator[str]:
        return (f.source for f in self.files)

    def __len__(self) -> int:
        return len(self.files)


def _index_of(
    root: Path, config: ChunkingConfig, stored: StoredIndex, files: Sequence[FileStat],
    vectors: Any = None,
) -> Index:
    skipped = [Skipped(s, r) for s, r in stored.records.skipped()]
    return Index(
        root=root, chunks=stored.chunks, scorer=stored.scorer, config=config, skipped=skipped,
        file_stats=FileStats(files), vectors=vectors,
    )


def _report(
    action: str,
    changes: Changes,
    notices: list[str],
    started: float,
    saved: bool,
    stored: StoredIndex,
    files: list[FileStat],
) -> IndexReport:
    return IndexReport(
        action=action,
        changes=changes,
        notices=notices,
        seconds=time.perf_counter() - started,
        saved=saved,
        documents=stored.records.documents,
        chunks=stored.scorer.n_docs,
        skipped=[Skipped(s, r) for s, r in stored.records.skipped()],
        files=files,
    )


# --- status -----------------------------------------------------------------------------


@dataclass
class IndexStatus:
    """What ``docqa index status`` shows."""

    path: Path
    exists: bool
    problem: str | None = None  # why the saved index cannot be used, if it cannot
    documents: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    segments: int = 0
    deleted: int = 0
    size_bytes: int = 0
    created: float | None = None
    changes: Changes = field(default_factory=Changes)


def index_status(root: Path, data_dir: Path, config: ChunkingConfig) -> IndexStatus:
    """Describe the saved index of ``root`` without changing it."""
    store = IndexStore(data_dir, root)
    status = IndexStatus(path=store.path, exists=store.exists())
    if not status.exists:
        return status
    try:
        manifest, _ = store.read_manifest()
        if manifest.fingerprint != index_fingerprint(config):
            status.problem = (
                f"made with other settings ({manifest.fingerprint}); the next start rebuilds it"
            )
            return status
        stored = store.load(manifest.fingerprint)
    except (IndexCorrupt, IndexOutdated) as exc:
        status.problem = str(exc)
        return status
    status.documents = stored.records.documents
    status.skipped = stored.records.skipped()
    status.chunks = stored.scorer.n_docs
    status.segments = len(stored.segments)
    status.deleted = sum(s.deleted for s in stored.segments)
    status.size_bytes = store.size_on_disk()
    status.created = manifest.created
    if root.is_dir():
        status.changes = diff(stored.records, scan(root))
    return status
