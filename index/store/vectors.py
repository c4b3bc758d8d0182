"""Chunk vectors in the saved index (the semantic layer), kept per segment like postings.

A segment's vectors are float16 rows aligned with its chunks, in **parts**: files of the
vectors of consecutive chunks ``[first, first + count)``, each part starting where the one
before ends, from chunk 0. An embedding run writes a part every ``CHECKPOINT_CHUNKS``
chunks and commits a generation with it, so an interrupted run (Ctrl-C, a crash) loses
at most one part's work, and the next start goes on from the last part. A new segment
(added or changed files) is embedded alone; a merged segment takes its rows from its
inputs, no chunk embedded again; a deleted chunk keeps its row until its segment is
merged, as it keeps its postings.

The generation's manifest holds ``vectors``: the model's fingerprint (its name, the hash
of its files, its piece limit), the dimension, and each segment's parts under the
segment's file name. Vectors made by another model are dropped when the index is opened
with the semantic layer on, and every chunk is embedded again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.store.container import ArrayFile, IndexCorrupt, write_arrays

# chunks embedded between two commits of an embedding run
CHECKPOINT_CHUNKS = 2048


@dataclass(frozen=True)
class VectorPart:
    """One file of a segment's vectors: the rows of chunks ``first .. first + count``."""

    file: str
    size: int
    footer: str
    first: int
    count: int


@dataclass
class SegmentVectors:
    """The vectors of a segment's first ``covered`` chunks, made by ``model``."""

    model: str
    dim: int
    parts: list[VectorPart] = field(default_factory=list)
    arrays: list[np.ndarray] = field(default_factory=list)  # float16, (count, dim) each
    files: list[ArrayFile] = field(default_factory=list)

    @property
    def covered(self) -> int:
        return sum(p.count for p in self.parts)

    def add(self, part: VectorPart, array: np.ndarray, f: ArrayFile | None = None) -> SegmentVectors:
        """These vectors and one more part after them (a new object: a generation being
        read keeps its own)."""
        return SegmentVectors(
            self.model, self.dim, [*self.parts, part], [*self.arrays, array],
            [*self.files, *([f] if f is not None else [])],
        )  # fmt: skip

    def rows(self, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The float32 vectors of the chunks ``local`` (ascending local ids) and which
        of them have one (zeros where not)."""
        out = np.zeros((len(local), self.dim), dtype=np.float32)
        have = local < self.covered
        for part, array in zip(self.parts, self.arrays):
            lo, hi = np.searchsorted(local, [part.first, part.first + part.count])
            if hi > lo:
                out[lo:hi] = array[local[lo:hi] - part.first]
        return out, have


def vectors_manifest(segments: Sequence[tuple[str, SegmentVectors | None]]) -> dict[str, Any] | None:
    """The manifest's ``vectors`` entry for ``(segment file, vectors)`` pairs; None when
    no segment has vectors. Every segment's vectors are of one model (the caller drops
    others)."""
    held = [(name, v) for name, v in segments if v is not None and v.parts]
    if not held:
        return None
    first = held[0][1]
    return {
        "model": first.model,
        "dim": first.dim,
        "segments": {name: [asdict(p) for p in v.parts] for name, v in held},
    }


def parse_vectors(raw: object) -> dict[str, Any] | None:
    """The manifest's ``vectors`` entry, checked; raises ValueError or TypeError."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise TypeError("vectors is not an object")
    model, dim, segments = raw["model"], raw["dim"], raw["segments"]
    if not isinstance(model, str) or not isinstance(dim, int) or dim <= 0:
        raise TypeError("vectors has no model or dimension")
    if not isinstance(segments, dict):
        raise TypeError("vectors' segments is not an object")
    parsed: dict[str, list[VectorPart]] = {}
    for name, parts in segments.items():
        if not isinstance(parts, list):
            raise TypeError("a segment's vector parts are not a list")
        at = 0
        checked = []
        for d in parts:
            part = VectorPart(
                str(d["file"]), int(d["size"]), str(d["footer"]), int(d["first"]), int(d["count"])
            )
            if "/" in part.file or "\\" in part.file or part.file.startswith("."):
                raise ValueError(f"{part.file!r} is not a file of the index folder")
            if part.first != at or part.count <= 0:
                raise ValueError(f"{part.file}: vector parts do not follow each other")
            at += part.count
            checked.append(part)
        parsed[str(name)] = checked
    return {"model": model, "dim": dim, "segments": parsed}


def vector_files(vectors: Mapping[str, Any] | None) -> list[str]:
    """The part files a manifest's ``vectors`` entry names."""
    if not vectors:
        return []
    return [p.file if isinstance(p, VectorPart) else str(p["file"])
            for parts in vectors["segments"].values() for p in parts]  # fmt: skip


def write_part(folder: Path, name: str, array: np.ndarray, first: int) -> VectorPart:
    """Write one part file (under a temporary name, then renamed)."""
    tmp = folder / (name + ".tmp")
    try:
        size, footer = write_arrays(tmp, {"vectors": np.ascontiguousarray(array, dtype="<f2")})
        tmp.rename(folder / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return VectorPart(name, size, footer, first, len(array))


def read_vectors(
    folder: Path, vectors: Mapping[str, Any], segment: str, n_docs: int
) -> SegmentVectors | None:
    """The vectors the manifest names for one segment, mapped and checked."""
    parts: list[VectorPart] = vectors["segments"].get(segment, [])
    if not parts:
        return None
    dim = int(vectors["dim"])
    result = SegmentVectors(str(vectors["model"]), dim)
    if parts[-1].first + parts[-1].count > n_docs:
        raise IndexCorrupt(f"{parts[-1].file}: more vectors than its segment has chunks")
    for part in parts:
        f = ArrayFile(folder / part.file)
        if f.size != part.size:
            raise IndexCorrupt(f"{part.file} is {f.size} bytes, expected {part.size} (truncated?)")
        if f.footer_sha256 != part.footer:
            raise IndexCorrupt(f"{part.file} is not the file the manifest names")
        flat = f.array("vectors")
        if flat.dtype != np.float16 or len(flat) != part.count * dim:
            raise IndexCorrupt(f"{part.file}: its vectors do not fit {part.count} x {dim}")
        result = result.add(part, flat.reshape(part.count, dim), f)
    return result


def merged_vectors(
    inputs: Sequence[tuple[SegmentVectors | None, int, np.ndarray | None]],
) -> tuple[str, int, np.ndarray] | None:
    """The vectors of a merged segment from its inputs, each as ``(vectors, n_docs,
    deletion mask or None)`` in merge order: the live rows of every input, as far as the
    inputs have vectors of one model (a partly embedded input ends the run; the rest is
    embedded later). None when the first input has none."""
    first = inputs[0][0] if inputs else None
    if first is None:
        return None
    rows: list[np.ndarray] = []
    for vectors, n_docs, deleted in inputs:
        if vectors is None or (vectors.model, vectors.dim) != (first.model, first.dim):
            break
        live = np.arange(n_docs) if deleted is None else np.flatnonzero(deleted == 0)
        covered = live[live < vectors.covered]
        if len(covered):
            part, _ = vectors.rows(covered)
            rows.append(part.astype(np.float16))
        if len(covered) < len(live):
            break
    if not rows:
        return None
    return first.model, first.dim, np.concatenate(rows)
