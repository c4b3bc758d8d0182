"""The chunk table: chunks stored as columns (numpy rows plus one UTF-8 text buffer), so a
saved index of 200k chunks needs no 200k pydantic objects until a chunk is asked for."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, overload

import numpy as np

from index.models import BLOCK_KINDS, BlockSpan, Chunk

if TYPE_CHECKING:
    from index.scoring import BM25Scorer

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
# a chunk's blocks: offsets into its text and the kind's position in BLOCK_KINDS
BLOCK_ROW = np.dtype([("start", "<i4"), ("end", "<i4"), ("kind", "u1")])


class ChunkTable(Sequence[Chunk]):
    """Chunks stored as columns; a ``Chunk`` is made only when one is asked for.

    Texts stay in one UTF-8 buffer (the saved file, memory-mapped, once loaded), so a
    large index costs 36 bytes a chunk in memory plus whatever pages were read.
    """

    def __init__(
        self,
        rows: np.ndarray,
        offsets: np.ndarray,
        texts: bytes | bytearray | memoryview,
        sources: Sequence[str],
        headings: Sequence[tuple[str, ...]],
        block_ptr: np.ndarray,
        block_rows: np.ndarray,
    ) -> None:
        self.rows = rows
        self.offsets = offsets
        self.texts = texts
        self.sources = sources
        self.headings = headings
        self.block_ptr = block_ptr  # chunk i's blocks are block_rows[block_ptr[i]:block_ptr[i+1]]
        self.block_rows = block_rows

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
        return self.chunk(i, i)

    def chunk(self, i: int, chunk_id: int) -> Chunk:
        """Row ``i`` as a ``Chunk`` whose id is ``chunk_id``."""
        row = self.rows[i]
        page = int(row["page"])
        return Chunk(
            id=chunk_id,
            source=self.sources[row["source"]],
            text=self.text(i),
            start_line=int(row["start_line"]),
            end_line=int(row["end_line"]),
            start=int(row["start"]),
            end=int(row["end"]),
            page=None if page < 0 else page,
            heading_path=self.headings[row["heading"]],
            blocks=self.blocks(i),
        )

    def blocks(self, i: int) -> tuple[BlockSpan, ...]:
        spans = self.block_rows[int(self.block_ptr[i]) : int(self.block_ptr[i + 1])]
        return tuple(
            (int(start), int(end), BLOCK_KINDS[kind]) for start, end, kind in spans.tolist()
        )

    def text(self, i: int) -> str:
        return bytes(self.texts[int(self.offsets[i]) : int(self.offsets[i + 1])]).decode("utf-8")

    def source_counts(self) -> dict[str, int]:
        """Chunks per source, in index order, without making a Chunk per chunk."""
        counts = np.bincount(self.rows["source"], minlength=len(self.sources))
        return {self.sources[i]: int(counts[i]) for i in np.flatnonzero(counts)}


class SegmentedChunks(Sequence[Chunk]):
    """The live chunks of every segment, numbered as the scorer numbers them."""

    def __init__(self, tables: Sequence[ChunkTable], scorer: BM25Scorer) -> None:
        self.tables = list(tables)
        self.scorer = scorer

    def __len__(self) -> int:
        return self.scorer.n_docs

    @overload
    def __getitem__(self, i: int) -> Chunk: ...

    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...

    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        s, local = self.scorer.locate(i)
        return self.tables[s].chunk(local, i)

    def __iter__(self) -> Iterator[Chunk]:
        gid = 0
        for s, table in enumerate(self.tables):
            for local in self.scorer.live_ids(s).tolist():
                yield table.chunk(local, gid)
                gid += 1

    def text(self, i: int) -> str:
        s, local = self.scorer.locate(i)
        return self.tables[s].text(local)

    def source_counts(self) -> dict[str, int]:
        """Live chunks per source, in index order."""
        counts: dict[str, int] = {}
        for s, table in enumerate(self.tables):
            live = table.rows["source"][self.scorer.live_ids(s)]
            per = np.bincount(live, minlength=len(table.sources))
            for i in np.flatnonzero(per):
                name = table.sources[int(i)]
                counts[name] = counts.get(name, 0) + int(per[i])
        return counts


# Pending rows become numpy arrays every FLUSH_ROWS chunks: converting 200k tuples at once
# holds the GIL for a third of a second (a stall for the Discord bot's event loop while a
# rebuild runs in a thread), and the tuples would keep the garbage collector busy.
FLUSH_ROWS = 4096


class ChunkTableBuilder:
    """Collects chunk rows and texts, from new chunks or from another table's rows."""

    def __init__(self) -> None:
        self._sources: dict[str, int] = {}
        self._headings: dict[tuple[str, ...], int] = {}
        self._rows: list[np.ndarray] = []
        self._pending: list[tuple[int, int, int, int, int, int, int]] = []
        # one growing buffer (not a bytes object per chunk, joined at the end: twice the memory)
        self._texts = bytearray()
        self._lengths: list[np.ndarray] = []
        self._pending_lengths: list[int] = []
        self._blocks: list[np.ndarray] = []
        self._pending_blocks: list[tuple[int, int, int]] = []
        self._block_counts: list[np.ndarray] = []
        self._pending_block_counts: list[int] = []
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
        self._texts += text
        self._pending_lengths.append(len(text))
        self._pending_blocks.extend((a, b, _KIND_IDS[kind]) for a, b, kind in chunk.blocks)
        self._pending_block_counts.append(len(chunk.blocks))
        self.count += 1
        if len(self._pending) >= FLUSH_ROWS:
            self._flush()

    def add_encoded(
        self,
        source: str,
        rows: list[tuple[int, int, int, int, int, int, int]],
        texts: list[bytes],
        headings: list[tuple[str, ...]],
        blocks: list[tuple[int, int, int]],
        block_counts: list[int],
    ) -> None:
        """Append one file's chunks as a build worker encoded them (``ROW`` tuples whose
        source and heading columns are filled in here)."""
        sid = self._source_id(source)
        heading_id = self._heading_id
        self._pending.extend(
            (sid, r[1], r[2], r[3], r[4], r[5], heading_id(h)) for r, h in zip(rows, headings)
        )
        self._texts += b"".join(texts)
        self._pending_lengths.extend(map(len, texts))
        self._pending_blocks.extend(blocks)
        self._pending_block_counts.extend(block_counts)
        self.count += len(rows)

    def _flush(self) -> None:
        if self._pending:
            self._rows.append(np.array(self._pending, dtype=ROW))
            self._lengths.append(np.array(self._pending_lengths, dtype=np.int64))
            self._blocks.append(np.array(self._pending_blocks, dtype=BLOCK_ROW))
            self._block_counts.append(np.array(self._pending_block_counts, dtype=np.int64))
            self._pending, self._pending_lengths = [], []
            self._pending_blocks, self._pending_block_counts = [], []

    def add_live(self, table: ChunkTable, live: np.ndarray) -> None:
        """Copy the chunks ``live`` (ascending local ids) of ``table``, run by run."""
        if not len(live):
            return
        breaks = np.flatnonzero(np.diff(live) != 1) + 1
        starts = np.concatenate([[0], breaks])
        ends = np.concatenate([breaks, [len(live)]])
        for a, b in zip(starts.tolist(), ends.tolist()):
            self.add_rows(table, int(live[a]), int(live[b - 1]) + 1)

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
            for old_id in np.unique(rows[column]).tolist():
                mapping[old_id] = to_id(names[old_id])  # type: ignore[operator]
            rows[column] = mapping[rows[column]]
        self._rows.append(rows)
        self._texts += table.texts[int(table.offsets[lo]) : int(table.offsets[hi])]
        self._lengths.append(np.diff(table.offsets[lo : hi + 1]).astype(np.int64))
        self._blocks.append(table.block_rows[table.block_ptr[lo] : table.block_ptr[hi]].copy())
        self._block_counts.append(np.diff(table.block_ptr[lo : hi + 1]).astype(np.int64))
        self.count += hi - lo

    def finish(self) -> ChunkTable:
        self._flush()
        rows = np.concatenate(self._rows) if self._rows else np.zeros(0, dtype=ROW)
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        texts, self._texts = self._texts, bytearray()
        blocks = np.concatenate(self._blocks) if self._blocks else np.zeros(0, BLOCK_ROW)
        counts = np.concatenate(self._block_counts) if self._block_counts else np.zeros(0, np.int64)
        block_ptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=block_ptr[1:])
        return ChunkTable(
            rows, offsets, texts, list(self._sources), list(self._headings), block_ptr, blocks
        )


_KIND_IDS = {kind: i for i, kind in enumerate(BLOCK_KINDS)}
