"""The on-disk format of the saved index: immutable segments, per-segment deletions and
file records, tied together by small generation manifests.

Layout (one index per documents folder, keyed by its resolved path)::

    .docqa/indexes/<folder>-<hash>/
        CURRENT                   {"generation": "gen-...json", "sha256": ...}: the live one
        gen-<ns>-<pid>.json       format, fingerprint, the segments in order (each with its
                                  size, footer hash and deletions file) and the records file
        seg-<ns>-<pid>.dq         a segment: postings and chunks (``segment.py``); never
                                  modified once named, shared by later generations
        del-<ns>-<pid>.dq         the chunks of one segment deleted since it was written
        rec-<ns>-<pid>.dq         one record per file of the folder: size, mtime, sha256,
                                  segment, first chunk, chunk count, skip reason
        write.lock read.lock      advisory locks

Every file is written under a temporary name, fsynced and renamed; ``CURRENT`` is swapped
last with an atomic rename, so a kill at any point leaves the previous generation live.
Opening checks the manifest's hash (from ``CURRENT``), each file's size and footer hash,
and the arrays' consistency; ``verify`` hashes every array. A writer holds ``write.lock``
for the whole update; it removes unreferenced files (keeping the previous generation's)
holding ``read.lock`` exclusively, and a reader holds it shared while it opens the
files, so a reader never loses the generation it is opening. No pickle anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import ChunkingConfig
from index.errors import IndexStoreError
from index.loaders import LOADERS_VERSION
from index.scoring import DELTA, K1, B, BM25Scorer, Deletions, Postings
from index.store.container import ArrayFile, IndexCorrupt, write_arrays
from index.store.segment import StringTable, read_segment, write_segment
from index.store.table import ChunkTable, SegmentedChunks
from index.store.vectors import (
    SegmentVectors,
    parse_vectors,
    read_vectors,
    vector_files,
    vectors_manifest,
)
from index.tokenize import fingerprint as tokenizer_fingerprint

__all__ = ["IndexCorrupt"]

FORMAT_VERSION = 3

# A file modified this close to a save may change again within the same mtime tick;
# such files are recorded with an unknown mtime so the next start hashes them.
RACY_SECONDS = 2.0

# Called with a step name after each file of a save is written (and after the swap);
# tests set it to stop a save in the middle. Nothing else should.
_after_write: Callable[[str], None] | None = None


class IndexMissing(IndexStoreError):
    """No index has been saved for this documents folder yet."""


class IndexOutdated(IndexStoreError):
    """The saved index was made with another format or other settings."""


def index_fingerprint(config: ChunkingConfig) -> str:
    """Everything that changes which terms, chunks or scores the index would hold."""
    return (
        f"{tokenizer_fingerprint()}|{LOADERS_VERSION}|{config.fingerprint()}"
        f"|bm25plus:{K1}:{B}:{DELTA}"
    )


def _step(name: str) -> None:
    if _after_write is not None:
        _after_write(name)


# --- file records -----------------------------------------------------------------------

RECORD = np.dtype(
    [
        ("size", "<i8"),
        ("mtime_ns", "<i8"),  # -1: modified too close to the save to be trusted
        ("sha256", "V32"),
        ("segment", "<i4"),  # position in the generation's segment list; -1 if skipped
        ("first", "<i4"),  # the file's first chunk in that segment
        ("n_chunks", "<i4"),
        ("reason", "<i4"),  # index into the reasons; -1 for an indexed file
    ]
)


@dataclass(frozen=True)
class FileRecord:
    """One file of the documents folder as it was indexed."""

    source: str
    size: int
    mtime_ns: int
    sha256: str
    segment: int = -1
    first_chunk: int = 0
    n_chunks: int = 0
    skipped: str | None = None  # the reason, for a file that gave no document


class FileRecords:
    """Every file's record, as columns (a folder of 66,667 files makes no 66,667 objects)."""

    def __init__(self, rows: np.ndarray, sources: StringTable, reasons: StringTable) -> None:
        self.rows = rows
        self.sources = sources
        self.reasons = reasons
        self._where: dict[str, int] | None = None
        self._lookups = 0

    def __len__(self) -> int:
        return len(self.rows)

    def where(self, source: str) -> int | None:
        if self._where is None and self._lookups < 16:
            # the first few (an edit's changed files) found in the blob: no map of 75,000
            self._lookups += 1
            return self._find(source)
        return self._map().get(source)

    def _map(self) -> dict[str, int]:
        if self._where is None:
            blob, offsets = self.sources.blob, self.sources.offsets.tolist()
            raw = bytes(blob)
            self._where = {
                raw[a:b].decode("utf-8", "surrogateescape"): i
                for i, (a, b) in enumerate(zip(offsets, offsets[1:]))
            }
        return self._where

    def _find(self, source: str) -> int | None:
        """The last record of ``source`` (as the map keeps), found in the sources' blob."""
        raw = source.encode("utf-8", "surrogateescape")
        blob, offsets = self.sources.blob, self.sources.offsets
        if not raw:  # an empty source: only an empty string matches
            hits = np.flatnonzero(np.diff(offsets) == 0)
            return int(hits[-1]) if len(hits) else None
        data = blob if isinstance(blob, bytes) else bytes(blob)
        at = data.rfind(raw)
        while at >= 0:
            # the string starting there (after any empty ones starting at the same place)
            i = int(np.searchsorted(offsets, at, side="right")) - 1
            if i < len(self) and offsets[i] == at and offsets[i + 1] == at + len(raw):
                return i
            at = data.rfind(raw, 0, at + len(raw) - 1)
        return None

    def positions(self, sources: Sequence[str]) -> np.ndarray:
        """Each source's position among the records, -1 for a source without one."""
        if self.sources.equals(sources):
            return np.arange(len(sources), dtype=np.int64)
        get = self._map().get
        return np.fromiter((get(s, -1) for s in sources), dtype=np.int64, count=len(sources))

    def reason(self, i: int) -> str | None:
        r = int(self.rows["reason"][i])
        return None if r < 0 else self.reasons[r]

    def sha256(self, i: int) -> str:
        return bytes(self.rows["sha256"][i]).hex()

    def record(self, i: int) -> FileRecord:
        row = self.rows[i]
        return FileRecord(
            source=self.sources[i],
            size=int(row["size"]),
            mtime_ns=int(row["mtime_ns"]),
            sha256=self.sha256(i),
            segment=int(row["segment"]),
            first_chunk=int(row["first"]),
            n_chunks=int(row["n_chunks"]),
            skipped=self.reason(i),
        )

    def all(self) -> list[FileRecord]:
        return [self.record(i) for i in range(len(self))]

    def skipped(self) -> list[tuple[str, str]]:
        """``(source, reason)`` of every file that gave no document."""
        return [
            (self.sources[int(i)], self.reasons[int(self.rows["reason"][i])])
            for i in np.flatnonzero(self.rows["reason"] >= 0)
        ]

    @property
    def documents(self) -> int:
        return int(np.count_nonzero(self.rows["reason"] < 0))


# --- the generation manifest ------------------------------------------------------------


@dataclass(frozen=True)
class FileRef:
    file: str
    size: int
    footer: str


@dataclass(frozen=True)
class SegmentRef(FileRef):
    n_docs: int
    deletions: FileRef | None = None
    deleted: int = 0


@dataclass(frozen=True)
class Manifest:
    """A generation: the segments in order, with their deletions, and the records."""

    format: int
    fingerprint: str
    root: str
    created: float
    n_chunks: int
    segments: list[SegmentRef]
    records: FileRef
    # the chunk vectors of the semantic layer (``index.store.vectors``), or None
    vectors: dict[str, Any] | None = None

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: object) -> Manifest:
        """Raises ValueError, KeyError or TypeError for anything but a manifest."""
        if not isinstance(raw, dict):
            raise TypeError("not an object")

        def ref(d: object, kind: type[FileRef] = FileRef) -> Any:
            if not isinstance(d, dict):
                raise TypeError("a file reference is not an object")
            file, size, footer = d["file"], d["size"], d["footer"]
            if not (isinstance(file, str) and isinstance(size, int) and isinstance(footer, str)):
                raise TypeError("a file reference has the wrong types")
            if "/" in file or "\\" in file or file.startswith("."):
                raise ValueError(f"{file!r} is not a file of the index folder")
            if kind is SegmentRef:
                deletions = None if d.get("deletions") is None else ref(d["deletions"])
                n_docs, deleted = d["n_docs"], d.get("deleted", 0)
                if not (isinstance(n_docs, int) and isinstance(deleted, int)):
                    raise TypeError("a segment reference has the wrong types")
                return SegmentRef(file, size, footer, n_docs, deletions, deleted)
            return FileRef(file, size, footer)

        return cls(
            format=int(raw["format"]),
            fingerprint=str(raw["fingerprint"]),
            root=str(raw["root"]),
            created=float(raw["created"]),
            n_chunks=int(raw["n_chunks"]),
            segments=[ref(d, SegmentRef) for d in raw["segments"]],
            records=ref(raw["records"]),
            vectors=parse_vectors(raw.get("vectors")),
        )


@dataclass
class Segment:
    """One segment as an index holds it: on disk (``ref`` set) or only in memory."""

    postings: Postings
    table: ChunkTable
    deletions: Deletions | None = None
    ref: SegmentRef | None = None
    files: list[ArrayFile] = field(default_factory=list)
    vectors: SegmentVectors | None = None  # the semantic layer's, when it has them

    @property
    def n_docs(self) -> int:
        return self.postings.n_docs

    @property
    def deleted(self) -> int:
        return 0 if self.deletions is None else self.deletions.count

    @property
    def live(self) -> int:
        return self.n_docs - self.deleted


@dataclass
class StoredIndex:
    """A generation read back from disk (or assembled in memory)."""

    manifest: Manifest | None
    segments: list[Segment]
    records: FileRecords
    path: Path | None

    def __post_init__(self) -> None:
        self.scorer = BM25Scorer(
            [s.postings for s in self.segments], [s.deletions for s in self.segments]
        )
        self.chunks = SegmentedChunks([s.table for s in self.segments], self.scorer)


def _folder_key(root: Path) -> str:
    resolved = root.resolve()
    digest = hashlib.sha256(str(resolved).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in resolved.name)[:40]
    return f"{name or 'root'}-{digest}"


def _unique(prefix: str, suffix: str) -> str:
    return f"{prefix}-{time.time_ns()}-{os.getpid()}{suffix}"


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some systems cannot open a folder; best effort
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _deletion_arrays(d: Deletions) -> dict[str, np.ndarray]:
    return {
        "ids": np.flatnonzero(d.mask).astype(np.int32),
        "terms": d.terms,
        "counts": d.counts,
        "length": np.array([d.length], dtype=np.int64),
    }


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

    def _pointer(self) -> tuple[str, str]:
        pointer = json.loads(self._current.read_text(encoding="utf-8"))
        return str(pointer["generation"]), str(pointer["sha256"])

    def current_generation(self) -> Path | None:
        try:
            return self.path / self._pointer()[0]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def live_files(self) -> list[Path]:
        """The files the live generation uses (its manifest included)."""
        try:
            manifest, name = self.read_manifest()
        except IndexStoreError:
            return []
        names = [name, manifest.records.file, *vector_files(manifest.vectors)]
        for seg in manifest.segments:
            names.append(seg.file)
            if seg.deletions is not None:
                names.append(seg.deletions.file)
        return [self.path / n for n in names]

    def size_on_disk(self) -> int:
        return sum(p.stat().st_size for p in self.live_files() if p.is_file())

    # -- locks -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self, name: str, exclusive: bool, wait: bool = True) -> Iterator[bool]:
        """Hold an advisory lock; yields False when ``wait`` is off and it is taken."""
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; saves are still atomic
            yield True
            return
        path = self.path / name
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            try:
                fd = os.open(path, os.O_RDONLY)  # a read-only data folder
            except OSError:
                yield True  # nothing can write here, so nothing can remove files under us
                return
        try:
            flags = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            try:
                fcntl.flock(fd, flags if wait else flags | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    def writing(self) -> contextlib.AbstractContextManager[bool]:
        """One writer at a time per index (a REPL and a bot may share a data folder)."""
        self.path.mkdir(parents=True, exist_ok=True)
        return self._lock("write.lock", exclusive=True)

    # -- reading ---------------------------------------------------------------------

    def read_manifest(self) -> tuple[Manifest, str]:
        """The live generation's manifest, checked against the hash in ``CURRENT``."""
        if not self._current.exists():
            raise IndexMissing(f"no saved index for {self.root} in {self.data_dir}")
        try:
            name, digest = self._pointer()
            data = (self.path / name).read_bytes()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"cannot read the index pointer or manifest ({exc})") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise IndexCorrupt(f"{name} does not match its checksum")
        try:
            raw = json.loads(data)
        except ValueError as exc:
            raise IndexCorrupt(f"{name} is not JSON ({exc})") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION:
            found = raw.get("format") if isinstance(raw, dict) else None
            raise IndexOutdated(
                f"saved index has format {found}, this docqa writes {FORMAT_VERSION}"
            )
        try:
            return Manifest.from_json(raw), name
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"{name} is malformed ({exc})") from None

    def load(self, fingerprint: str) -> StoredIndex:
        """The saved index, checked; raises IndexMissing, IndexOutdated or IndexCorrupt.

        A writer may swap generations while we open one: a file that vanished under us
        means another generation is live, so we open that one instead.
        """
        for attempt in range(3):
            with self._lock("read.lock", exclusive=False):
                manifest, name = self.read_manifest()
                if manifest.fingerprint != fingerprint:
                    raise IndexOutdated(
                        f"index settings changed ({manifest.fingerprint} → {fingerprint})"
                    )
                try:
                    return self._open(manifest)
                except IndexCorrupt:
                    try:
                        moved = self._pointer()[0] != name
                    except (OSError, ValueError, KeyError, TypeError):
                        moved = False
                    if not moved or attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def _array_file(self, ref: FileRef, dtypes: dict[str, np.dtype] | None = None) -> ArrayFile:
        path = self.path / ref.file
        f = ArrayFile(path, dtypes)
        if f.size != ref.size:
            raise IndexCorrupt(f"{ref.file} is {f.size} bytes, expected {ref.size} (truncated?)")
        if f.footer_sha256 != ref.footer:
            raise IndexCorrupt(f"{ref.file} is not the file the manifest names")
        return f

    def _open(self, manifest: Manifest) -> StoredIndex:
        segments: list[Segment] = []
        for ref in manifest.segments:
            path = self.path / ref.file
            postings, table, f = read_segment(path)
            if f.size != ref.size:
                raise IndexCorrupt(f"{ref.file} is {f.size} bytes, expected {ref.size} (truncated?)")
            if f.footer_sha256 != ref.footer or postings.n_docs != ref.n_docs:
                raise IndexCorrupt(f"{ref.file} is not the segment the manifest names")
            files = [f]
            deletions = None
            if ref.deletions is not None:
                d = self._array_file(ref.deletions)
                files.append(d)
                deletions = _read_deletions(d, postings)
                if deletions.count != ref.deleted:
                    raise IndexCorrupt(f"{ref.deletions.file} does not fit its segment")
            vectors = None
            if manifest.vectors is not None:
                vectors = read_vectors(self.path, manifest.vectors, ref.file, ref.n_docs)
                files += vectors.files if vectors is not None else []
            segments.append(Segment(postings, table, deletions, ref, files, vectors))
        r = self._array_file(manifest.records, {"rows": RECORD})
        records = FileRecords(
            r.array("rows") if "rows" in r else np.zeros(0, RECORD),
            StringTable(r.raw("source_blob"), r.array("source_offsets")),
            StringTable(r.raw("reason_blob"), r.array("reason_offsets")),
        )
        _check_records(records, segments, r.name)
        stored = StoredIndex(manifest, segments, records, self.path)
        if stored.scorer.n_docs != manifest.n_chunks:
            raise IndexCorrupt(f"the segments hold {stored.scorer.n_docs} chunks, expected {manifest.n_chunks}")
        return stored

    def verify(self) -> list[str]:
        """Hash every array of the live generation: the problems found (none: [])."""
        try:
            manifest, _ = self.read_manifest()
            stored = self._open(manifest)
        except IndexStoreError as exc:
            return [str(exc)]
        problems = []
        for seg in stored.segments:
            for f in seg.files:
                problems += f.verify()
            ids = seg.postings.doc_ids
            ptr = seg.postings.indptr
            step = np.ones(len(ids), dtype=bool)
            step[ptr[:-1][np.diff(ptr) > 0]] = False  # a term's first posting
            if len(ids) > 1 and bool((np.diff(ids)[step[1:]] <= 0).any()):
                problems.append(f"{seg.ref.file if seg.ref else 'segment'}: postings out of order")
        return problems

    # -- writing ---------------------------------------------------------------------

    def write_segment(self, postings: Postings, table: ChunkTable) -> Segment:
        """Write a segment file (under a temporary name, then renamed) and map it back,
        so its arrays leave memory. The caller holds ``writing()``."""
        name = _unique("seg", ".dq")
        tmp = self.path / (name + ".tmp")
        try:
            size, footer = write_segment(tmp, postings, table)
            tmp.rename(self.path / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _step("segment")
        postings, table, f = read_segment(self.path / name, written=True)
        ref = SegmentRef(file=name, size=size, footer=footer, n_docs=postings.n_docs)
        return Segment(postings, table, None, ref, [f])

    def _write_file(self, prefix: str, arrays: dict[str, Any], step: str) -> FileRef:
        name = _unique(prefix, ".dq")
        tmp = self.path / (name + ".tmp")
        try:
            size, footer = write_arrays(tmp, arrays)
            tmp.rename(self.path / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _step(step)
        return FileRef(file=name, size=size, footer=footer)

    def commit(
        self, segments: Sequence[Segment], records: FileRecords, fingerprint: str,
    ) -> str:
        """Make ``segments`` (all on disk) with their deletions and ``records`` the live
        generation. The caller holds ``writing()``. Returns the manifest's name."""
        refs = []
        for seg in segments:
            if seg.ref is None:
                raise ValueError("every segment must be written before a commit")
            ref = seg.ref
            if seg.deletions is None:
                ref = replace(ref, deleted=0, deletions=None)
            elif ref.deletions is None or ref.deleted != seg.deleted:
                written = self._write_file("del", _deletion_arrays(seg.deletions), "deletions")
                ref = replace(ref, deleted=seg.deleted, deletions=written)
            seg.ref = ref
            refs.append(ref)
        records_ref = self._write_file(
            "rec",
            {
                "rows": records.rows,
                "source_blob": bytes(records.sources.blob),
                "source_offsets": records.sources.offsets,
                "reason_blob": bytes(records.reasons.blob),
                "reason_offsets": records.reasons.offsets,
            },
            "records",
        )
        manifest = Manifest(
            format=FORMAT_VERSION,
            fingerprint=fingerprint,
            root=str(self.root.resolve()),
            created=time.time(),
            n_chunks=sum(s.live for s in segments),
            segments=refs,
            records=records_ref,
            vectors=vectors_manifest([(r.file, s.vectors) for r, s in zip(refs, segments)]),
        )
        data = manifest.to_json()
        name = _unique("gen", ".json")
        tmp = self.path / (name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.rename(self.path / name)
        _step("generation")
        _fsync_dir(self.path)
        previous = self.current_generation()
        pointer = json.dumps(
            {"generation": name, "sha256": hashlib.sha256(data).hexdigest()}
        ).encode("utf-8")
        with open(self.path / "CURRENT.tmp", "wb") as f:
            f.write(pointer)
            f.flush()
            os.fsync(f.fileno())
        _step("CURRENT.tmp")
        os.replace(self.path / "CURRENT.tmp", self._current)
        _fsync_dir(self.path)
        _step("swap")
        self._remove_unused(keep=[name] + ([previous.name] if previous else []))
        return name

    def _remove_unused(self, keep: Sequence[str]) -> None:
        """Remove files no kept generation uses: the one just made live and the one
        before it, which a reader that started a moment ago may still be opening."""
        used = {"CURRENT", "write.lock", "read.lock", *keep}
        for name in keep:
            try:
                manifest = Manifest.from_json(json.loads((self.path / name).read_bytes()))
            except (OSError, ValueError, KeyError, TypeError):
                continue
            used.add(manifest.records.file)
            used.update(vector_files(manifest.vectors))
            for seg in manifest.segments:
                used.add(seg.file)
                if seg.deletions is not None:
                    used.add(seg.deletions.file)
        with self._lock("read.lock", exclusive=True, wait=False) as free:
            if not free:
                return  # a reader is opening files: the next save removes them
            for entry in self.path.iterdir():
                if entry.name in used:
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)  # format 2's generation folders
                else:
                    entry.unlink(missing_ok=True)

    def clear(self) -> bool:
        """Remove this folder's saved index; False when there was none.

        Raises OSError when it cannot be removed (a read-only data folder)."""
        if not self.path.exists():
            return False
        with self.writing():
            for entry in self.path.iterdir():
                if entry.name == "write.lock":
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        shutil.rmtree(self.path)
        return True


def _read_deletions(f: ArrayFile, postings: Postings) -> Deletions:
    ids = f.array("ids")
    terms, counts, length = f.array("terms"), f.array("counts"), f.array("length")
    n_docs, n_terms = postings.n_docs, len(postings.vocab)
    if (
        ids.dtype != np.int32 or terms.dtype != np.int32 or counts.dtype != np.int32
        or len(terms) != len(counts) or len(length) != 1
        or (len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= n_docs))
        or (len(terms) and (int(terms.min()) < 0 or int(terms.max()) >= n_terms))
        or (len(terms) > 1 and bool((np.diff(terms) <= 0).any()))
        or (len(counts) and int(counts.min()) < 0)
        or int(length[0]) < 0
    ):
        raise IndexCorrupt(f"{f.name}: the deletions do not fit their segment")
    mask = np.zeros(n_docs, dtype=np.uint8)
    mask[ids] = 1
    return Deletions(mask, terms, counts, int(length[0]))


def _check_records(records: FileRecords, segments: Sequence[Segment], name: str) -> None:
    rows = records.rows
    if len(records.sources) != len(rows):
        raise IndexCorrupt(f"{name}: {len(records.sources)} names for {len(rows)} records")
    if not len(rows):
        return
    indexed = rows[rows["reason"] < 0]
    if len(indexed):
        seg = indexed["segment"]
        if int(seg.min()) < 0 or int(seg.max()) >= len(segments):
            raise IndexCorrupt(f"{name}: a record names a segment that is not there")
        sizes = np.array([s.n_docs for s in segments], dtype=np.int64)
        first, n = indexed["first"].astype(np.int64), indexed["n_chunks"].astype(np.int64)
        if int(first.min()) < 0 or int(n.min()) < 0 or bool((first + n > sizes[seg]).any()):
            raise IndexCorrupt(f"{name}: a record's chunks lie outside its segment")
    if int(rows["reason"].max()) >= len(records.reasons):
        raise IndexCorrupt(f"{name}: a record's skip reason is not there")
