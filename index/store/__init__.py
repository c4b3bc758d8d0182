"""The saved index: a data folder that survives restarts, crashes and edits of the documents.

``container`` is the file format every part is written in, ``segment`` one immutable
segment (postings and chunks), ``table`` the chunk table, ``format`` the generations,
file records, deletions and locks, ``update`` the folder scan, the diff against the saved
records, the segment writer, the merge policy and ``open_index``.
"""

from index.store.container import IndexCorrupt
from index.store.format import (
    FORMAT_VERSION,
    FileRecord,
    FileRecords,
    IndexMissing,
    IndexOutdated,
    IndexStore,
    Manifest,
    StoredIndex,
    index_fingerprint,
)
from index.store.table import BLOCK_ROW, ROW, ChunkTable, ChunkTableBuilder, SegmentedChunks
from index.store.update import (
    Changes,
    FileStat,
    IndexReport,
    IndexStatus,
    diff,
    index_status,
    open_index,
    scan,
)

__all__ = [
    "BLOCK_ROW",
    "FORMAT_VERSION",
    "ROW",
    "Changes",
    "ChunkTable",
    "ChunkTableBuilder",
    "FileRecord",
    "FileRecords",
    "FileStat",
    "IndexCorrupt",
    "IndexMissing",
    "IndexOutdated",
    "IndexReport",
    "IndexStatus",
    "IndexStore",
    "Manifest",
    "SegmentedChunks",
    "StoredIndex",
    "diff",
    "index_fingerprint",
    "index_status",
    "open_index",
    "scan",
]
