"""The saved index: a data folder that survives restarts, crashes and edits of the documents.

``format`` is the on-disk layout (files, checksums, atomic generations, locking), ``table``
the chunk table, ``update`` the folder scan, the diff against the saved records and the
incremental assembly behind ``open_index``.
"""

from index.store.format import (
    FORMAT_VERSION,
    FileRecord,
    IndexCorrupt,
    IndexMissing,
    IndexOutdated,
    IndexStore,
    Manifest,
    StoredIndex,
    index_fingerprint,
)
from index.store.table import BLOCK_ROW, ROW, ChunkTable, ChunkTableBuilder
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
    "FileStat",
    "IndexCorrupt",
    "IndexMissing",
    "IndexOutdated",
    "IndexReport",
    "IndexStatus",
    "IndexStore",
    "Manifest",
    "StoredIndex",
    "diff",
    "index_fingerprint",
    "index_status",
    "open_index",
    "scan",
]
