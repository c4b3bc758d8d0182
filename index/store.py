"""The saved index: a data folder that survives restarts, crashes and edits of the documents.

Layout (one index per documents folder, keyed by its resolved path)::

    .docqa/indexes/<folder>-<hash>/
        CURRENT              {"generation": ..., "manifest_sha256": ...}: the live one
        gen-<ns>-<pid>/      a complete generation, never modified once named
            manifest.json    format, fingerprint, files (stat, sha256, chunk range),
                             and a sha256 and size for every file below
            vocab.json       terms in id order
            strings.json     sources and heading paths the chunk rows point into
            indptr.npy doc_ids.npy tfs.npy doc_len.npy    the postings (BM25Scorer)
            chunks.npy       one row per chunk: source, lines, span, page, heading
            text_offsets.npy texts.utf8                   chunk texts, read on demand

No pickle: arrays are ``.npy`` read without object dtypes, the rest JSON. A save writes a
new generation folder beside the live one (every file fsynced), renames it into place,
then swaps ``CURRENT`` with an atomic rename, so a kill at any point leaves the previous
generation live. A load checks the manifest's hash (from ``CURRENT``) and every file's
size and hash: truncation or corruption is reported in one line and the index rebuilt.

``open_index`` loads the saved index when its fingerprint (tokenizer, chunking and BM25
parameters, format) matches, then loads, chunks and tokenizes only the files that were
added or changed; the unchanged files' chunk rows, texts and postings are carried over
as they are, and only the postings arrays are re-sorted.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import mmap
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, overload

import numpy as np
from pydantic import BaseModel, ValidationError

from index.chunking import ChunkingConfig, chunk_document, indexed_text
from index.errors import IndexStoreError, NoDocumentsError
from index.loading import SUPPORTED, Skipped, iter_files, load_documents, load_file
from index.models import Chunk
from index.retrieval import Index
from index.scoring import B, DELTA, K1, BM25Scorer, PostingsBuilder
from index.tokenize import fingerprint as tokenizer_fingerprint
from index.tokenize import tokenize_many

log = logging.getLogger("docqa.store")

FORMAT_VERSION = 1

# A file modified this close to a save may change again within the same mtime tick;
# such files are recorded with an unknown mtime so the next start hashes them.
_RACY_SECONDS = 2.0

# Called with a step name after each file of a save is written (and after the rename);
# tests set it to stop a save in the middle. Nothing else should.
_after_write: Callable[[str], None] | None = None


class IndexMissing(IndexStoreError):
    """No index has been saved for this documents folder yet."""


class IndexCorrupt(IndexStoreError):
    """The saved index is truncated, damaged or unreadable."""


class IndexOutdated(IndexStoreError):
    """The saved index was made with another format or other settings."""


def index_fingerprint(config: ChunkingConfig) -> str:
    """Everything that changes which terms, chunks or scores the index would hold."""
    return f"{tokenizer_fingerprint()}|{config.fingerprint()}|bm25plus:{K1}:{B}:{DELTA}"


# --- chunk rows -------------------------------------------------------------------------

ROW = np.dtype(
    [
        ("source", "<i4"),
        ("start_line", "<i4"),
        ("end_line", "<i4"),
        ("start", "<i8"),
        ("end", "<i8"),
        ("page", "<i4"),  # -1: no page
        ("heading", "<i4"),
    ]
)


class ChunkTable(Sequence[Chunk]):
    """Chunks stored as columns; a ``Chunk`` is made only when one is asked for.

    Texts stay in one UTF-8 buffer (the saved file, memory-mapped, once loaded), so a
    large index costs 36 bytes a chunk in memory plus whatever pages were read.
    """

    def __init__(
        self,
        rows: np.ndarray,
        offsets: np.ndarray,
        texts: bytes | mmap.mmap,
        sources: list[str],
        headings: list[tuple[str, ...]],
    ) -> None:
        self.rows = rows
        self.offsets = offsets
        self.texts = texts
        self.sources = sources
        self.headings = headings

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...

    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...

    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self.rows)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"chunk {i} out of range (0-{n - 1})")
        row = self.rows[i]
        page = int(row["page"])
        return Chunk(
            id=i,
            source=self.sources[row["source"]],
            text=self.text(i),
            start_line=int(row["start_line"]),
            end_line=int(row["end_line"]),
            start=int(row["start"]),
            end=int(row["end"]),
            page=None if page < 0 else page,
            heading_path=self.headings[row["heading"]],
        )

    def text(self, i: int) -> str:
        return self.texts[int(self.offsets[i]) : int(self.offsets[i + 1])].decode("utf-8")

    def source_counts(self) -> dict[str, int]:
        """Chunks per source, in index order, without making a Chunk per chunk."""
        counts = np.bincount(self.rows["source"], minlength=len(self.sources))
        return {s: int(counts[i]) for i, s in enumerate(self.sources) if counts[i]}


class ChunkTableBuilder:
    """Collects chunk rows and texts, from new chunks or from another table's rows."""

    def __init__(self) -> None:
        self._sources: dict[str, int] = {}
        self._headings: dict[tuple[str, ...], int] = {}
        self._rows: list[np.ndarray] = []
        self._pending: list[tuple[int, int, int, int, int, int, int]] = []
        self._texts: list[bytes] = []
        self._lengths: list[np.ndarray] = []
        self._pending_lengths: list[int] = []
        self.count = 0  # chunks so far: the id the next chunk gets

    def _source_id(self, source: str) -> int:
        return self._sources.setdefault(source, len(self._sources))

    def _heading_id(self, heading: tuple[str, ...]) -> int:
        return self._headings.setdefault(heading, len(self._headings))

    def add(self, chunk: Chunk) -> None:
        text = chunk.text.encode("utf-8")
        self._pending.append(
            (
                self._source_id(chunk.source),
                chunk.start_line,
                chunk.end_line,
                chunk.start,
                chunk.end,
                -1 if chunk.page is None else chunk.page,
                self._heading_id(tuple(chunk.heading_path)),
            )
        )
        self._texts.append(text)
        self._pending_lengths.append(len(text))
        self.count += 1

    def _flush(self) -> None:
        if self._pending:
            self._rows.append(np.array(self._pending, dtype=ROW))
            self._lengths.append(np.array(self._pending_lengths, dtype=np.int64))
            self._pending, self._pending_lengths = [], []

    def add_rows(self, table: ChunkTable, lo: int, hi: int) -> None:
        """Copy chunks ``lo:hi`` of ``table`` (their texts as bytes, nothing decoded)."""
        if hi <= lo:
            return
        self._flush()
        rows = table.rows[lo:hi].copy()
        # only the sources and headings these rows use, so removed files leave no trace
        for column, names, to_id in (
            ("source", table.sources, self._source_id),
            ("heading", table.headings, self._heading_id),
        ):
            mapping = np.zeros(len(names), dtype=np.int32)
            for old_id in np.unique(rows[column]):
                mapping[old_id] = to_id(names[old_id])  # type: ignore[operator]
            rows[column] = mapping[rows[column]]
        self._rows.append(rows)
        self._texts.append(bytes(table.texts[int(table.offsets[lo]) : int(table.offsets[hi])]))
        self._lengths.append(np.diff(table.offsets[lo : hi + 1]).astype(np.int64))
        self.count += hi - lo

    def finish(self) -> ChunkTable:
        self._flush()
        rows = np.concatenate(self._rows) if self._rows else np.zeros(0, dtype=ROW)
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        texts = b"".join(self._texts)
        self._texts = []
        return ChunkTable(rows, offsets, texts, list(self._sources), list(self._headings))


# --- manifest ---------------------------------------------------------------------------


class FileRecord(BaseModel):
    """One file of the documents folder as it was indexed."""

    source: str
    size: int
    mtime_ns: int  # -1: modified too close to the save to be trusted
    sha256: str
    first_chunk: int = 0
    n_chunks: int = 0
    skipped: str | None = None  # the reason, for a file that gave no document


class Manifest(BaseModel):
    format: int
    fingerprint: str
    root: str
    created: float
    n_chunks: int
    n_terms: int
    files: list[FileRecord]
    checksums: dict[str, str]
    sizes: dict[str, int]


_ARRAYS = ("indptr", "doc_ids", "tfs", "doc_len", "chunks", "text_offsets")
_FILES = ("vocab.json", "strings.json", *(f"{a}.npy" for a in _ARRAYS), "texts.utf8")


@dataclass
class StoredIndex:
    """A generation read back from disk."""

    manifest: Manifest
    scorer: BM25Scorer
    chunks: ChunkTable
    path: Path


# --- low-level file helpers -------------------------------------------------------------


class _HashingWriter:
    """A file wrapper that hashes and counts what goes through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.raw.write(data)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some systems cannot open a folder; best effort
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _step(name: str) -> None:
    if _after_write is not None:
        _after_write(name)


def _write(folder: Path, name: str, fill: Callable[[_HashingWriter], None]) -> tuple[str, int]:
    with open(folder / name, "wb") as raw:
        writer = _HashingWriter(raw)
        fill(writer)
        raw.flush()
        os.fsync(raw.fileno())
    _step(name)
    return writer.hash.hexdigest(), writer.size


def _npy_from_bytes(data: bytes, name: str) -> np.ndarray:
    """An array over ``data`` without copying it; refuses object dtypes (pickle)."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"npy version {version}")
    except ValueError as exc:
        raise IndexCorrupt(f"{name} is not a valid array ({exc})") from None
    if dtype.hasobject or fortran or len(shape) != 1:
        raise IndexCorrupt(f"{name} holds an unexpected array ({dtype}, shape {shape})")
    count = math.prod(shape)
    if stream.tell() + count * dtype.itemsize != len(data):
        raise IndexCorrupt(f"{name} has the wrong length")
    return np.frombuffer(data, dtype=dtype, count=count, offset=stream.tell())


def _folder_key(root: Path) -> str:
    resolved = root.resolve()
    digest = hashlib.sha256(str(resolved).encode("utf-8")).hexdigest()[:12]
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in resolved.name)[:40]
    return f"{name or 'root'}-{digest}"


# --- the store --------------------------------------------------------------------------


class IndexStore:
    """The saved index of one documents folder inside a data folder."""

    def __init__(self, data_dir: Path, root: Path) -> None:
        self.data_dir = data_dir
        self.root = root
        self.path = data_dir / "indexes" / _folder_key(root)

    @property
    def _current(self) -> Path:
        return self.path / "CURRENT"

    def exists(self) -> bool:
        return self._current.is_file()

    def current_generation(self) -> Path | None:
        try:
            pointer = json.loads(self._current.read_text(encoding="utf-8"))
            return self.path / str(pointer["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def size_on_disk(self) -> int:
        generation = self.current_generation()
        if generation is None or not generation.is_dir():
            return 0
        return sum(p.stat().st_size for p in generation.iterdir() if p.is_file())

    # -- reading ---------------------------------------------------------------------

    def read_manifest(self) -> tuple[Manifest, Path]:
        """The live generation's manifest, checked against the hash in ``CURRENT``."""
        if not self._current.exists():
            raise IndexMissing(f"no saved index for {self.root} in {self.data_dir}")
        try:
            pointer = json.loads(self._current.read_text(encoding="utf-8"))
            generation = self.path / str(pointer["generation"])
            data = (generation / "manifest.json").read_bytes()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"cannot read the index pointer or manifest ({exc})") from None
        if hashlib.sha256(data).hexdigest() != pointer.get("manifest_sha256"):
            raise IndexCorrupt("manifest.json does not match its checksum")
        try:
            raw = json.loads(data)
        except ValueError as exc:
            raise IndexCorrupt(f"manifest.json is not JSON ({exc})") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION:
            found = raw.get("format") if isinstance(raw, dict) else None
            raise IndexOutdated(
                f"saved index has format {found}, this docqa writes {FORMAT_VERSION}"
            )
        try:
            return Manifest.model_validate(raw), generation
        except ValidationError as exc:
            raise IndexCorrupt(f"manifest.json is malformed ({exc.error_count()} errors)") from None

    def load(self, fingerprint: str) -> StoredIndex:
        """The saved index, verified; raises IndexMissing, IndexOutdated or IndexCorrupt."""
        manifest, generation = self.read_manifest()
        if manifest.fingerprint != fingerprint:
            raise IndexOutdated(
                f"index settings changed ({manifest.fingerprint} → {fingerprint})"
            )
        try:
            return self._load_files(manifest, generation)
        except OSError as exc:
            raise IndexCorrupt(f"cannot read the saved index ({exc})") from None

    def _verified_bytes(self, manifest: Manifest, generation: Path, name: str) -> bytes:
        data = (generation / name).read_bytes()
        self._check(manifest, name, len(data), hashlib.sha256(data).hexdigest())
        return data

    @staticmethod
    def _check(manifest: Manifest, name: str, size: int, digest: str) -> None:
        if name not in manifest.checksums:
            raise IndexCorrupt(f"manifest.json has no checksum for {name}")
        if size != manifest.sizes.get(name):
            raise IndexCorrupt(
                f"{name} is {size} bytes, expected {manifest.sizes.get(name)} (truncated?)"
            )
        if digest != manifest.checksums[name]:
            raise IndexCorrupt(f"{name} does not match its checksum")

    def _load_files(self, manifest: Manifest, generation: Path) -> StoredIndex:
        arrays = {
            a: _npy_from_bytes(self._verified_bytes(manifest, generation, f"{a}.npy"), a)
            for a in _ARRAYS
        }
        try:
            terms = json.loads(self._verified_bytes(manifest, generation, "vocab.json"))
            strings = json.loads(self._verified_bytes(manifest, generation, "strings.json"))
            sources = [str(s) for s in strings["sources"]]
            headings = [tuple(str(h) for h in path) for path in strings["headings"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"vocab.json or strings.json is malformed ({exc})") from None
        texts_path = generation / "texts.utf8"
        with open(texts_path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
            size = os.fstat(f.fileno()).st_size
            self._check(manifest, "texts.utf8", size, digest)
            # mmap of an empty file is an error; the mapping outlives the file's deletion
            texts: bytes | mmap.mmap = (
                mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            )
        rows = arrays["chunks"]
        n = manifest.n_chunks
        if (
            rows.dtype != ROW
            or len(rows) != n
            or len(arrays["doc_len"]) != n
            or len(arrays["text_offsets"]) != n + 1
            or len(arrays["indptr"]) != len(terms) + 1
            or len(terms) != manifest.n_terms
        ):
            raise IndexCorrupt("the saved arrays do not fit together")
        scorer = BM25Scorer(
            {t: i for i, t in enumerate(terms)},
            arrays["indptr"],
            arrays["doc_ids"],
            arrays["tfs"],
            arrays["doc_len"],
        )
        chunks = ChunkTable(rows, arrays["text_offsets"], texts, sources, headings)
        return StoredIndex(manifest, scorer, chunks, generation)

    # -- writing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time per index (a REPL and a bot may share a data folder)."""
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; saves are still atomic
            yield
            return
        with open(self.path / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def save(
        self,
        scorer: BM25Scorer,
        chunks: ChunkTable,
        files: Sequence[FileRecord],
        fingerprint: str,
    ) -> Path:
        """Write a new generation and make it the live one; returns its folder."""
        with self._locked():
            name = f"gen-{time.time_ns()}-{os.getpid()}"
            tmp = self.path / f"{name}.tmp"
            tmp.mkdir(parents=True)
            try:
                checksums, sizes = self._write_generation(tmp, scorer, chunks)
                manifest = Manifest(
                    format=FORMAT_VERSION,
                    fingerprint=fingerprint,
                    root=str(self.root.resolve()),
                    created=time.time(),
                    n_chunks=len(chunks),
                    n_terms=len(scorer.vocab),
                    files=list(files),
                    checksums=checksums,
                    sizes=sizes,
                )
                data = manifest.model_dump_json().encode("utf-8")
                _write(tmp, "manifest.json", lambda w: w.write(data))
                _fsync_dir(tmp)
                final = self.path / name
                tmp.rename(final)
                _fsync_dir(self.path)
                _step("rename")
                pointer = json.dumps(
                    {"generation": name, "manifest_sha256": hashlib.sha256(data).hexdigest()}
                ).encode("utf-8")
                _write(self.path, "CURRENT.tmp", lambda w: w.write(pointer))
                os.replace(self.path / "CURRENT.tmp", self._current)
                _fsync_dir(self.path)
                _step("swap")
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self._remove_old(keep=name)
            return final

    def _write_generation(
        self, folder: Path, scorer: BM25Scorer, chunks: ChunkTable
    ) -> tuple[dict[str, str], dict[str, int]]:
        checksums: dict[str, str] = {}
        sizes: dict[str, int] = {}

        def put(name: str, fill: Callable[[_HashingWriter], Any]) -> None:
            checksums[name], sizes[name] = _write(folder, name, fill)

        terms = sorted(scorer.vocab, key=scorer.vocab.__getitem__)
        put("vocab.json", lambda w: w.write(json.dumps(terms, ensure_ascii=False).encode()))
        strings = {"sources": chunks.sources, "headings": [list(h) for h in chunks.headings]}
        put("strings.json", lambda w: w.write(json.dumps(strings, ensure_ascii=False).encode()))
        arrays = {
            "indptr": scorer.indptr,
            "doc_ids": scorer.doc_ids,
            "tfs": scorer.tfs,
            "doc_len": scorer.doc_len,
            "chunks": chunks.rows,
            "text_offsets": chunks.offsets,
        }
        for array_name, array in arrays.items():
            put(
                f"{array_name}.npy",
                lambda w, a=array: np.lib.format.write_array(w, np.ascontiguousarray(a)),
            )
        put("texts.utf8", lambda w: w.write(memoryview(chunks.texts)))
        return checksums, sizes

    def _remove_old(self, keep: str) -> None:
        # old generations and folders of interrupted saves; a process still reading an
        # old generation keeps its open files and mappings (POSIX) and finishes on them
        for entry in self.path.iterdir():
            if entry.is_dir() and entry.name.startswith("gen-") and entry.name != keep:
                shutil.rmtree(entry, ignore_errors=True)

    def clear(self) -> bool:
        """Remove this folder's saved index; False when there was none."""
        if not self.path.exists():
            return False
        with self._locked():
            for entry in self.path.iterdir():
                if entry.name == "lock":
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        shutil.rmtree(self.path, ignore_errors=True)
        return True


# --- scanning the documents folder ------------------------------------------------------


@dataclass(frozen=True)
class FileStat:
    path: Path
    source: str
    size: int
    mtime_ns: int


def scan(root: Path) -> list[FileStat]:
    """Every file under ``root`` (as the loader sees them) with its size and mtime."""
    found = []
    for path, source in iter_files(root):
        try:
            st = path.stat()
        except OSError:
            continue  # vanished or a broken link: the loader would skip it too
        found.append(FileStat(path, source, st.st_size, st.st_mtime_ns))
    return found


def _sha256(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return ""


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
    racy = now - f.mtime_ns / 1e9 < _RACY_SECONDS
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
            racy = now - f.mtime_ns / 1e9 < _RACY_SECONDS
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
