"""The on-disk format of the saved index: a data folder that survives restarts, crashes
and edits of the documents.

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
            block_ptr.npy blocks.npy   each chunk's typed blocks (offsets into its text)

No pickle: arrays are ``.npy`` read without object dtypes, the rest JSON. A save writes a
new generation folder beside the live one (every file fsynced), renames it into place,
then swaps ``CURRENT`` with an atomic rename, so a kill at any point leaves the previous
generation live. A load checks the manifest's hash (from ``CURRENT``) and every file's
size and hash: truncation or corruption is reported in one line and the index rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import mmap
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from pydantic import BaseModel, ValidationError

from index.chunking import ChunkingConfig
from index.errors import IndexStoreError
from index.loaders import LOADERS_VERSION
from index.scoring import DELTA, K1, B, BM25Scorer
from index.store.table import BLOCK_ROW, ROW, ChunkTable
from index.tokenize import fingerprint as tokenizer_fingerprint

FORMAT_VERSION = 2

# A file modified this close to a save may change again within the same mtime tick;
# such files are recorded with an unknown mtime so the next start hashes them.
RACY_SECONDS = 2.0

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
    return (
        f"{tokenizer_fingerprint()}|{LOADERS_VERSION}|{config.fingerprint()}"
        f"|bm25plus:{K1}:{B}:{DELTA}"
    )


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


_ARRAYS = (
    "indptr", "doc_ids", "tfs", "doc_len", "chunks", "text_offsets", "block_ptr", "blocks"
)
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
            or arrays["blocks"].dtype != BLOCK_ROW
            or len(arrays["block_ptr"]) != n + 1
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
        chunks = ChunkTable(
            rows,
            arrays["text_offsets"],
            texts,
            sources,
            headings,
            arrays["block_ptr"],
            arrays["blocks"],
        )
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
            "block_ptr": chunks.block_ptr,
            "blocks": chunks.block_rows,
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
