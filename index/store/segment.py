"""A segment on disk: one immutable file with a part of the index's postings and the
chunks they belong to (rows, texts, typed block spans, source and heading names).

Opening a segment maps it and checks what is cheap to check: the footer's hash, every
array's extent, and that the arrays fit together (pointers ascending and in range, chunk
ids inside the segment, lengths not negative), so a damaged file is refused before any
query reads past an array's end. A segment under ``HASH_AT_OPEN_BYTES`` is also hashed
whole; a larger one is hashed when it is written and by ``docqa index verify``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from index.scoring import Postings, Vocabulary
from index.store.container import ArrayFile, IndexCorrupt, write_arrays
from index.store.table import BLOCK_ROW, ROW, ChunkTable

HASH_AT_OPEN_BYTES = 8 * 2**20
_SEP = "\x1f"  # between the titles of a heading path


class StringTable(Sequence[str]):
    """Strings stored as one UTF-8 blob and int64 offsets, decoded when asked for."""

    def __init__(self, blob: bytes | memoryview, offsets: np.ndarray) -> None:
        self.blob = blob
        self.offsets = offsets

    @classmethod
    def of(cls, strings: Iterable[str]) -> StringTable:
        encoded = [s.encode("utf-8", "surrogateescape") for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return cls(b"".join(encoded), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def equals(self, strings: Sequence[str]) -> bool:
        """Whether this table holds exactly ``strings``, in order (without decoding it)."""
        if len(strings) != len(self):
            return False
        joined = "".join(strings)
        if not joined.isascii():
            return self.decoded() == list(strings)
        lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
        return bool(
            joined.encode("ascii") == bytes(self.blob)
            and np.array_equal(np.diff(self.offsets), lengths)
        )

    def decoded(self) -> list[str]:
        """Every string, decoded at once (faster than one at a time)."""
        raw, offsets = bytes(self.blob), self.offsets.tolist()
        return [raw[a:b].decode("utf-8", "surrogateescape") for a, b in zip(offsets, offsets[1:])]

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        raw = bytes(self.blob[int(self.offsets[i]) : int(self.offsets[i + 1])])
        return raw.decode("utf-8", "surrogateescape")


class HeadingTable(Sequence[tuple[str, ...]]):
    """Heading paths over a ``StringTable`` (titles joined by a unit separator)."""

    def __init__(self, strings: StringTable) -> None:
        self.strings = strings

    @classmethod
    def of(cls, paths: Iterable[tuple[str, ...]]) -> HeadingTable:
        return cls(StringTable.of(_SEP.join(p) for p in paths))

    def __len__(self) -> int:
        return len(self.strings)

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        text = self.strings[i]
        return tuple(text.split(_SEP)) if text else ()


def _strings(table: Sequence[str]) -> StringTable:
    return table if isinstance(table, StringTable) else StringTable.of(table)


def _headings(table: Sequence[tuple[str, ...]]) -> StringTable:
    return table.strings if isinstance(table, HeadingTable) else HeadingTable.of(table).strings


def write_segment(
    path: Path, postings: Postings, table: ChunkTable, after: Callable[[str], None] | None = None
) -> tuple[int, str]:
    """Write one segment file; returns (size, footer sha256)."""
    sources, headings = _strings(table.sources), _headings(table.headings)
    arrays = {
        "vocab_blob": bytes(postings.vocab.blob),
        "vocab_offsets": postings.vocab.offsets,
        "indptr": postings.indptr,
        "doc_ids": postings.doc_ids,
        "tfs": postings.tfs,
        "doc_len": postings.doc_len,
        "max_tf": postings.max_tf,
        "rows": table.rows,
        "text_offsets": table.offsets,
        "texts": memoryview(table.texts) if len(table.texts) else b"",
        "block_ptr": table.block_ptr,
        "blocks": table.block_rows,
        "source_blob": bytes(sources.blob),
        "source_offsets": sources.offsets,
        "heading_blob": bytes(headings.blob),
        "heading_offsets": headings.offsets,
    }
    return write_arrays(path, arrays, after)


def read_segment(path: Path, written: bool = False) -> tuple[Postings, ChunkTable, ArrayFile]:
    """Map a segment file and check that its arrays fit together. ``written``: this
    process has just written it from arrays it built, so only the footer is checked
    (reading every array back would only bring the file's pages into memory)."""
    f = ArrayFile(path, {"rows": ROW, "blocks": BLOCK_ROW})
    if not written and f.size <= HASH_AT_OPEN_BYTES:
        problems = f.verify()
        if problems:
            raise IndexCorrupt(problems[0])
    a = f.array
    postings = Postings(
        vocab=Vocabulary(f.raw("vocab_blob"), a("vocab_offsets")),
        indptr=a("indptr"),
        doc_ids=a("doc_ids"),
        tfs=a("tfs"),
        doc_len=a("doc_len"),
        max_tf=a("max_tf"),
    )
    sources = StringTable(f.raw("source_blob"), a("source_offsets"))
    headings = HeadingTable(StringTable(f.raw("heading_blob"), a("heading_offsets")))
    table = ChunkTable(
        a("rows"), a("text_offsets"), f.raw("texts"), sources, headings, a("block_ptr"), a("blocks")
    )
    problem = None if written else _inconsistency(
        postings, table, len(f.raw("vocab_blob")), len(f.raw("source_blob")),
        len(f.raw("heading_blob")),
    )
    if problem:
        raise IndexCorrupt(f"{path.name}: {problem}")
    return postings, table, f


def _pointers_ok(ptr: np.ndarray, length: int, end: int) -> bool:
    """``ptr`` has ``length`` entries, starts at 0, never goes down and ends at ``end``."""
    return (
        len(ptr) == length
        and length > 0
        and int(ptr[0]) == 0
        and int(ptr[-1]) == end
        and bool((ptr[1:] >= ptr[:-1]).all())
    )


def _inconsistency(
    postings: Postings, table: ChunkTable, vocab_bytes: int, source_bytes: int, heading_bytes: int
) -> str | None:
    n_docs = len(postings.doc_len)
    n_terms = len(postings.max_tf)
    if tfs_kind(postings.tfs) is None:
        return f"term frequencies are {postings.tfs.dtype}"
    if not _pointers_ok(postings.vocab.offsets, n_terms + 1, vocab_bytes):
        return "the vocabulary's offsets are not ascending"
    if not _pointers_ok(postings.indptr, n_terms + 1, len(postings.doc_ids)) or len(
        postings.tfs
    ) != len(postings.doc_ids):
        return "the postings pointers are not ascending or do not cover the postings"
    ids = postings.doc_ids
    if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= n_docs):
        return "a posting names a chunk outside the segment"
    if n_docs and int(postings.doc_len.min()) < 0:
        return "a chunk has a negative length"
    rows = table.rows
    if len(rows) != n_docs:
        return f"{len(rows)} chunk rows for {n_docs} chunks"
    if not _pointers_ok(table.offsets, n_docs + 1, len(table.texts)):
        return "the text offsets are not ascending or do not cover the texts"
    if not _pointers_ok(table.block_ptr, n_docs + 1, len(table.block_rows)):
        return "the block pointers are not ascending or do not cover the blocks"
    if not _pointers_ok(table.sources.offsets, len(table.sources) + 1, source_bytes):  # type: ignore[attr-defined]
        return "the source names' offsets are not ascending"
    if not _pointers_ok(table.headings.strings.offsets, len(table.headings) + 1, heading_bytes):  # type: ignore[attr-defined]
        return "the headings' offsets are not ascending"
    if n_docs:
        for column, limit in (("source", len(table.sources)), ("heading", len(table.headings))):
            values = rows[column]
            if int(values.min()) < 0 or int(values.max()) >= limit:
                return f"a chunk's {column} is out of range"
        if int(rows["start_line"].min()) < 1 or bool((rows["end_line"] < rows["start_line"]).any()):
            return "a chunk's lines are out of order"
    blocks = table.block_rows
    if len(blocks) and (
        int(blocks["start"].min()) < 0
        or bool((blocks["end"] < blocks["start"]).any())
        or int(blocks["kind"].max()) >= 6
    ):
        return "a block span is out of order"
    return None


def tfs_kind(tfs: np.ndarray) -> int | None:
    return tfs.dtype.itemsize if tfs.dtype in (np.uint8, np.uint16, np.uint32) else None
