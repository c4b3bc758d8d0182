"""One file holding named arrays, read by memory-mapping it: segments, deletions and file
records are all written this way.

Layout::

    b"DOCQAv3\\0"                      8 bytes
    array, array, ...                  each at a 64-byte aligned offset
    footer                             JSON: {name: [offset, dtype, count, sha256]}
    footer length (8 bytes, little-endian), footer sha256 (32 bytes), b"DOCQAEND"

Opening reads the last 48 bytes and the footer, checks the footer against its hash and
every array's extent against the file's size, and maps the arrays without reading them
(``verify`` hashes them). dtypes are plain numbers, raw bytes or the known record types:
nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from index.errors import IndexStoreError

MAGIC = b"DOCQAv3\0"
END = b"DOCQAEND"
_TRAILER = 8 + 32 + len(END)
_ALIGN = 64
_SIMPLE = {"|u1", "<i4", "<i8", "<u2", "<u4", "|i1", "|V32", "<f2"}


class IndexCorrupt(IndexStoreError):
    """The saved index is truncated, damaged or unreadable."""


def _dtype_name(dtype: np.dtype) -> object:
    return dtype.descr if dtype.names else dtype.str


def write_arrays(
    path: Path,
    arrays: Mapping[str, np.ndarray | bytes],
    after: Callable[[str], None] | None = None,
) -> tuple[int, str]:
    """Write ``arrays`` to ``path`` and fsync it; returns (size, sha256 of the footer)."""
    toc: dict[str, list[object]] = {}
    with open(path, "wb") as f:
        f.write(MAGIC)
        pos = len(MAGIC)
        for name, value in arrays.items():
            array = (
                np.frombuffer(value, dtype=np.uint8)
                if isinstance(value, (bytes, bytearray, memoryview))
                else np.ascontiguousarray(value)
            )
            pad = -pos % _ALIGN
            f.write(b"\0" * pad)
            pos += pad
            data = memoryview(array).cast("B") if array.size else b""
            f.write(data)
            toc[name] = [pos, _dtype_name(array.dtype), int(array.size), hashlib.sha256(data).hexdigest()]
            pos += len(data)
        footer = json.dumps(toc, separators=(",", ":")).encode("utf-8")
        digest = hashlib.sha256(footer).digest()
        f.write(footer)
        f.write(len(footer).to_bytes(8, "little") + digest + END)
        f.flush()
        os.fsync(f.fileno())
    if after is not None:
        after(path.name)
    return pos + len(footer) + _TRAILER, digest.hex()


class ArrayFile:
    """The arrays of one file, memory-mapped (the mapping outlives the file's deletion)."""

    def __init__(self, path: Path, dtypes: Mapping[str, np.dtype] | None = None) -> None:
        self.path = path
        self.name = path.name
        self._known = dtypes or {}
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                self.size = size
                self._map: mmap.mmap | bytes = (
                    mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
                )
        except OSError as exc:
            raise IndexCorrupt(f"cannot read {path.name} ({exc.strerror or exc})") from None
        data = self._map
        if size < len(MAGIC) + _TRAILER or data[: len(MAGIC)] != MAGIC or data[-len(END) :] != END:
            raise IndexCorrupt(f"{self.name} is not a complete index file (truncated?)")
        footer_len = int.from_bytes(data[-_TRAILER : -_TRAILER + 8], "little")
        footer_at = size - _TRAILER - footer_len
        if footer_len <= 0 or footer_at < len(MAGIC):
            raise IndexCorrupt(f"{self.name} has a damaged footer")
        footer = bytes(data[footer_at : size - _TRAILER])
        self.footer_sha256 = hashlib.sha256(footer).hexdigest()
        if self.footer_sha256 != bytes(data[-_TRAILER + 8 : -len(END)]).hex():
            raise IndexCorrupt(f"{self.name}'s footer does not match its checksum")
        try:
            toc = json.loads(footer)
            self._toc = {
                str(name): (int(off), self._dtype(name, spec), int(count), str(sha))
                for name, (off, spec, count, sha) in toc.items()
            }
        except (ValueError, TypeError) as exc:
            raise IndexCorrupt(f"{self.name} has a malformed footer ({exc})") from None
        for name, (off, dtype, count, _) in self._toc.items():
            if off < len(MAGIC) or count < 0 or off + count * dtype.itemsize > footer_at:
                raise IndexCorrupt(f"{self.name}: {name} runs past the end of the file")

    def _dtype(self, name: str, spec: object) -> np.dtype:
        known = self._known.get(name)
        if isinstance(spec, str) and spec in _SIMPLE:
            dtype = np.dtype(spec)
        elif known is not None and isinstance(spec, list) and spec == json.loads(
            json.dumps(known.descr)
        ):
            dtype = known
        else:
            raise IndexCorrupt(f"{self.name}: {name} has an unexpected type ({spec})")
        if known is not None and dtype != known:
            raise IndexCorrupt(f"{self.name}: {name} is {dtype}, expected {known}")
        return dtype

    def __contains__(self, name: str) -> bool:
        return name in self._toc

    def array(self, name: str) -> np.ndarray:
        if name not in self._toc:
            raise IndexCorrupt(f"{self.name} has no {name}")
        off, dtype, count, _ = self._toc[name]
        if count == 0:
            return np.zeros(0, dtype=dtype)
        return np.frombuffer(self._map, dtype=dtype, count=count, offset=off)

    def raw(self, name: str) -> memoryview:
        off, dtype, count, _ = self._toc[name]
        return memoryview(self._map)[off : off + count * dtype.itemsize] if count else memoryview(b"")

    def verify(self) -> list[str]:
        """Every array's hash against its footer: the damaged ones, named."""
        return [
            f"{self.name}: {name} does not match its checksum"
            for name, (_, _, _, sha) in self._toc.items()
            if hashlib.sha256(self.raw(name)).hexdigest() != sha
        ]
