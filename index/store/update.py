"""Bringing the saved index up to date: scan the documents folder, diff it against the
saved file records, and assemble a new index that carries the unchanged files' chunks and
postings over and loads, chunks and tokenizes only the files that were added or changed."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import ChunkingConfig, chunk_document, indexed_text
from index.errors import IndexStoreError, NoDocumentsError
from index.loaders import SUPPORTED, Skipped, iter_files, load_documents, load_file
from index.retrieval import Index
from index.scoring import BM25Scorer, PostingsBuilder
from index.store.format import (
    RACY_SECONDS,
    FileRecord,
    IndexCorrupt,
    IndexMissing,
    IndexOutdated,
    IndexStore,
    StoredIndex,
    index_fingerprint,
)
from index.store.table import ChunkTable, ChunkTableBuilder
from index.tokenize import tokenize_many

log = logging.getLogger("docqa.store")

# --- scanning the documents folder ------------------------------------------------------


@dataclass(frozen=True)
class FileStat:
    path: Path
    source: str
    size: int
    mtime_ns: int


def scan(root: Path) -> list[FileStat]:
    """Every file under ``root`` (as the loader sees them) with its size and mtime; a
    broken link or a link loop with the link's own, so the loader gives its reason."""
    found = []
    for path, source in iter_files(root):
        try:
            st = path.stat()
        except OSError:
            try:
                st = path.lstat()
            except OSError:
                continue  # vanished since the walk
        found.append(FileStat(path, source, st.st_size, st.st_mtime_ns))
    return found


def _sha256(path: Path) -> str:
    try:
        with open(path, "rb", opener=_nonblocking) as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return ""  # a pipe or device: never read (the loader skips it)
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return ""


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


def diff(records: Sequence[FileRecord], files: Sequence[FileStat]) -> Changes:
    """Compare by size and mtime first; hash only the files whose stat moved."""
    known = {r.source: r for r in records}
    changes = Changes()
    for f in files:
        record = known.pop(f.source, None)
        if record is None:
            changes.added.append(f.source)
        elif record.size == f.size and record.mtime_ns == f.mtime_ns:
            continue
        elif record.size == f.size and _sha256(f.path) == record.sha256:
            changes.touched.append(f.source)
        else:
            changes.changed.append(f.source)
    changes.removed.extend(known)
    return changes


# --- building and updating --------------------------------------------------------------


def _untracked(items: Iterable[FileStat]) -> Iterable[FileStat]:
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

    def line(self) -> str:
        what = {
            "loaded": "loaded the saved index (up to date)",
            "updated": f"updated the saved index ({self.changes.summary()})",
            "built": "built the index",
        }[self.action]
        docs = "document" if self.documents == 1 else "documents"
        return (
            f"{what}: {self.documents} {docs}, {self.chunks} chunks "
            f"in {self.seconds:.2f} s"
        )


def _record(f: FileStat, now: float, **kw: Any) -> FileRecord:
    racy = now - f.mtime_ns / 1e9 < RACY_SECONDS
    return FileRecord(
        source=f.source,
        size=f.size,
        mtime_ns=-1 if racy else f.mtime_ns,
        sha256=_sha256(f.path),
        **kw,
    )


def _no_documents(root: Path) -> NoDocumentsError:
    return NoDocumentsError(
        f"no documents found in {root}: add {SUPPORTED} files, "
        "or point DOCQA_DOCS_DIR (or --docs) at another folder"
    )


def _assemble(
    root: Path,
    config: ChunkingConfig,
    files: Sequence[FileStat],
    old: StoredIndex | None,
    reuse: set[str],
    track: Callable[[Iterable[FileStat]], Iterable[FileStat]],
) -> tuple[BM25Scorer, ChunkTable, list[FileRecord], list[Skipped]]:
    """Chunks, postings and records for ``files``: the ``reuse`` ones copied from
    ``old``, the others loaded, chunked and tokenized."""
    now = time.time()
    old_records = {r.source: r for r in old.manifest.files} if old else {}
    if old is not None:
        old_terms, old_tfs, old_per_doc = old.scorer.doc_postings()
        old_starts = np.zeros(len(old_per_doc) + 1, dtype=np.int64)
        np.cumsum(old_per_doc, out=old_starts[1:])
        postings = PostingsBuilder(old.scorer.vocab)
    else:
        postings = PostingsBuilder()
    table = ChunkTableBuilder()
    records: list[FileRecord] = []
    skipped: list[Skipped] = []
    new_texts: list[str] = []

    def flush_new() -> None:
        # tokenize the new chunks in one batch so tokenize_many's word cache pays off
        if new_texts:
            postings.add_many(tokenize_many(new_texts))
            new_texts.clear()

    for f in track(files):
        record = old_records.get(f.source)
        if old is not None and record is not None and f.source in reuse:
            first = table.count
            if record.skipped is None:
                lo, hi = record.first_chunk, record.first_chunk + record.n_chunks
                flush_new()  # keep postings in chunk order
                table.add_rows(old.chunks, lo, hi)
                a, b = old_starts[lo], old_starts[hi]
                postings.add_postings(
                    old_terms[a:b], old_tfs[a:b], old_per_doc[lo:hi], old.scorer.doc_len[lo:hi]
                )
            else:
                skipped.append(Skipped(f.source, record.skipped))
            racy = now - f.mtime_ns / 1e9 < RACY_SECONDS
            records.append(
                record.model_copy(
                    update={
                        "first_chunk": first if record.skipped is None else 0,
                        "size": f.size,
                        "mtime_ns": -1 if racy else f.mtime_ns,
                    }
                )
            )
            continue
        loaded = load_file(root, f.path, f.source)
        if isinstance(loaded, Skipped):
            log.warning("skipped %s: %s", loaded.source, loaded.reason)
            skipped.append(loaded)
            records.append(_record(f, now, skipped=loaded.reason))
            continue
        first = table.count
        chunks = chunk_document(loaded, config, first_id=first)
        for chunk in chunks:
            table.add(chunk)
            new_texts.append(indexed_text(chunk))
        records.append(_record(f, now, first_chunk=first, n_chunks=len(chunks)))
    flush_new()
    if not any(r.skipped is None for r in records):
        raise _no_documents(root)
    return postings.build(), table.finish(), records, skipped


def open_index(
    root: Path,
    data_dir: Path,
    config: ChunkingConfig,
    track: Callable[[Iterable[FileStat]], Iterable[FileStat]] = _untracked,
    full: bool = False,
    save: bool = True,
) -> tuple[Index, IndexReport]:
    """The index of ``root``: loaded from ``data_dir`` when it is there and current,
    brought up to date file by file when documents changed, built when there is none,
    it is corrupt or the settings changed (``full`` forces that).

    Raises NoDocumentsError when the folder holds no usable document.
    """
    started = time.perf_counter()
    if not root.is_dir():
        load_documents(root)  # raises NoDocumentsError with the usual advice
    store = IndexStore(data_dir, root)
    fingerprint = index_fingerprint(config)
    notices: list[str] = []
    old: StoredIndex | None = None
    if not full:
        try:
            old = store.load(fingerprint)
        except IndexMissing:
            pass
        except IndexOutdated as exc:
            notices.append(f"{exc}: rebuilding the whole index")
        except IndexCorrupt as exc:
            notices.append(f"saved index in {store.path} is unusable ({exc}): rebuilding it")
    files = scan(root)
    changes = diff(old.manifest.files, files) if old else Changes(added=[f.source for f in files])

    if old is not None and not changes.stale and not changes.touched:
        index = _index_of(root, config, old)
        return index, _report("loaded", changes, notices, started, False, index, old.manifest.files)

    reuse = set()
    if old is not None:
        reuse = {f.source for f in files} - set(changes.added) - set(changes.changed)
    scorer, table, records, skipped = _assemble(root, config, files, old, reuse, track)
    action = "updated" if old is not None and changes.stale else "built"
    if old is not None and not changes.stale:
        action = "loaded"  # only mtimes moved: same index, saved with the new stats
    saved = False
    if save:
        try:
            store.save(scorer, table, records, fingerprint)
            saved = True
        except OSError as exc:
            notices.append(f"could not save the index to {store.path} ({exc}); using it unsaved")
    index = Index(root=root, chunks=table, scorer=scorer, config=config, skipped=skipped)
    return index, _report(action, changes, notices, started, saved, index, records)


def _index_of(root: Path, config: ChunkingConfig, stored: StoredIndex) -> Index:
    skipped = [Skipped(r.source, r.skipped) for r in stored.manifest.files if r.skipped]
    return Index(
        root=root, chunks=stored.chunks, scorer=stored.scorer, config=config, skipped=skipped
    )


def _report(
    action: str,
    changes: Changes,
    notices: list[str],
    started: float,
    saved: bool,
    index: Index,
    records: Sequence[FileRecord],
) -> IndexReport:
    documents = sum(1 for r in records if r.skipped is None)
    return IndexReport(
        action=action,
        changes=changes,
        notices=notices,
        seconds=time.perf_counter() - started,
        saved=saved,
        documents=documents,
        chunks=len(index.chunks),
    )


# --- status -----------------------------------------------------------------------------


@dataclass
class IndexStatus:
    """What ``docqa index status`` shows."""

    path: Path
    exists: bool
    problem: str | None = None  # why the saved index cannot be used, if it cannot
    documents: int = 0
    skipped: int = 0
    chunks: int = 0
    terms: int = 0
    size_bytes: int = 0
    created: float | None = None
    changes: Changes = field(default_factory=Changes)


def index_status(root: Path, data_dir: Path, config: ChunkingConfig) -> IndexStatus:
    """Describe the saved index of ``root`` without loading its arrays or changing it."""
    store = IndexStore(data_dir, root)
    status = IndexStatus(path=store.path, exists=store.exists())
    if not status.exists:
        return status
    try:
        manifest, _ = store.read_manifest()
    except IndexStoreError as exc:
        status.problem = str(exc)
        return status
    if manifest.fingerprint != index_fingerprint(config):
        status.problem = (
            f"made with other settings ({manifest.fingerprint}); the next start rebuilds it"
        )
    status.documents = sum(1 for r in manifest.files if r.skipped is None)
    status.skipped = sum(1 for r in manifest.files if r.skipped is not None)
    status.chunks = manifest.n_chunks
    status.terms = manifest.n_terms
    status.size_bytes = store.size_on_disk()
    status.created = manifest.created
    if root.is_dir():
        status.changes = diff(manifest.files, scan(root))
    return status
