"""Embedding the saved index's chunks (the semantic layer): what ``open_index`` runs after
the BM25 part is up to date, when it is given an embedder.

Only the chunks whose segment has no vector for them are embedded: after an edit, the
new segment holding the edited file's chunks; after a merge, nothing (the merged segment
took its inputs' vectors); after a change of model, everything. Every
``CHECKPOINT_CHUNKS`` chunks a part file is written and a generation committed, so an
interrupted run resumes where it stopped. One process embeds at a time: a start that
finds another process embedding answers with the vectors there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.chunking import indexed_text
from index.semantic.vectors import ChunkVectors
from index.store.format import IndexStore, Segment, StoredIndex, _unique
from index.store.vectors import (
    CHECKPOINT_CHUNKS,
    SegmentVectors,
    VectorPart,
    merged_vectors,
    write_part,
)

# texts handed to the model at a time (the progress bar moves by this much)
STEP = 64


class _Pending(Sequence[str]):
    """The texts still to embed, in segment then chunk order (sized, for a progress bar)."""

    def __init__(self, segments: Sequence[Segment], start: Sequence[int]) -> None:
        self.segments = segments
        self.start = start

    def __len__(self) -> int:
        return sum(s.n_docs - a for s, a in zip(self.segments, self.start))

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        raise TypeError("read the pending texts in order")

    def __iter__(self) -> Iterator[str]:
        for seg, start in zip(self.segments, self.start):
            deleted = None if seg.deletions is None else seg.deletions.mask
            for local in range(start, seg.n_docs):
                if deleted is not None and deleted[local]:
                    yield ""  # never searched: not worth the model's time
                else:
                    yield indexed_text(seg.table.chunk(local, local))


@dataclass
class Embedding:
    """What an embedding run did, for the report."""

    embedded: int = 0  # chunks embedded by this run
    missing: int = 0  # chunks still without a vector (another process is embedding)


def drop_other_model(stored: StoredIndex, fingerprint: str) -> str | None:
    """Forget vectors another model made; the notice to show, or None."""
    others = {s.vectors.model for s in stored.segments if s.vectors is not None} - {fingerprint}
    if not others:
        return None
    for seg in stored.segments:
        if seg.vectors is not None and seg.vectors.model != fingerprint:
            seg.vectors = None
    return (
        f"the semantic model changed ({', '.join(sorted(others))} → {fingerprint}): "
        "every chunk is embedded again"
    )


def embed_pending(
    store: IndexStore | None,
    stored: StoredIndex,
    embedder: Any,
    fingerprint: str,
    track: Callable[[Iterable[str]], Iterable[str]],
    notices: list[str],
) -> Embedding:
    """Embed every chunk of ``stored`` that has no vector yet, committing a generation
    every ``CHECKPOINT_CHUNKS`` chunks when ``store`` is given (the caller made
    ``stored`` the live generation of ``store``)."""
    result = Embedding()
    segments = stored.segments
    start = [0 if s.vectors is None else s.vectors.covered for s in segments]
    pending = _Pending(segments, start)
    total = len(pending)
    if not total:
        return result
    if store is None:
        _embed(segments, start, pending, embedder, track, lambda s, part, array: None, notices)
        result.embedded = total
        return result
    with store._lock("write.lock", exclusive=True, wait=False) as mine:
        if not mine or not _still_live(store, stored):
            result.missing = total
            notices.append(
                f"another docqa process is updating the index: {total} chunks have no "
                "vector yet and are found by BM25 alone until it is done"
            )
            return result

        def checkpoint(s: int, part: VectorPart, array: np.ndarray) -> None:
            store.commit(segments, stored.records, fingerprint)

        result.embedded = _embed(
            segments, start, pending, embedder, track, checkpoint, notices, store=store
        )
    return result


def _still_live(store: IndexStore, stored: StoredIndex) -> bool:
    """Whether ``stored`` is still the live generation (no other process committed since)."""
    try:
        manifest, _ = store.read_manifest()
    except Exception:
        return False
    ours = [s.ref.file if s.ref is not None else None for s in stored.segments]
    return [s.file for s in manifest.segments] == ours


def _embed(
    segments: Sequence[Segment],
    start: Sequence[int],
    pending: _Pending,
    embedder: Any,
    track: Callable[[Iterable[str]], Iterable[str]],
    checkpoint: Callable[[int, VectorPart, np.ndarray], None],
    notices: list[str],
    store: IndexStore | None = None,
) -> int:
    texts = iter(track(pending))
    done = 0
    for s, seg in enumerate(segments):
        local = start[s]
        while local < seg.n_docs:
            n = min(CHECKPOINT_CHUNKS, seg.n_docs - local)
            rows = np.zeros((n, embedder.dim), dtype=np.float16)
            for lo in range(0, n, STEP):
                batch = [next(texts) for _ in range(min(STEP, n - lo))]
                keep = [i for i, t in enumerate(batch) if t]
                if keep:
                    rows[[lo + i for i in keep]] = embedder.embed([batch[i] for i in keep])
            part = VectorPart("", 0, "", local, n)
            if store is not None:
                try:
                    part = write_part(store.path, _unique("vec", ".dq"), rows, local)
                except OSError as exc:
                    store = None  # go on in memory; the next start embeds them again
                    notices.append(
                        f"could not save the chunk vectors ({exc.strerror or exc}); "
                        "using them unsaved"
                    )
            base = seg.vectors or SegmentVectors(embedder.fingerprint, embedder.dim)
            seg.vectors = base.add(part, rows)
            if store is not None:
                try:
                    checkpoint(s, part, rows)
                except OSError as exc:
                    store = None
                    notices.append(
                        f"could not save the chunk vectors ({exc.strerror or exc}); "
                        "using them unsaved"
                    )
            local += n
            done += n
    return done


def chunk_vectors(stored: StoredIndex, embedder: Any) -> ChunkVectors:
    """The vectors of ``stored``'s live chunks (global ids), assembled at the first
    question: float32, one row a chunk, zeros and no similarity where a chunk has none."""

    def load() -> tuple[np.ndarray, np.ndarray]:
        mats, haves = [], []
        for s, seg in enumerate(stored.segments):
            live = stored.scorer.live_ids(s)
            if seg.vectors is None:
                mats.append(np.zeros((len(live), embedder.dim), dtype=np.float32))
                haves.append(np.zeros(len(live), dtype=bool))
            else:
                matrix, have = seg.vectors.rows(live)
                mats.append(matrix)
                haves.append(have)
        if not mats:
            return np.zeros((0, embedder.dim), np.float32), np.zeros(0, bool)
        return np.concatenate(mats), np.concatenate(haves)

    return ChunkVectors(embedder, load=load)


def merged_segment_vectors(
    store: IndexStore | None, inputs: Sequence[Segment]
) -> SegmentVectors | None:
    """A merged segment's vectors, its inputs' live rows (written as one part when the
    index is saved): merging never embeds a chunk again."""
    found = merged_vectors([
        (s.vectors, s.n_docs, None if s.deletions is None else s.deletions.mask) for s in inputs
    ])  # fmt: skip
    if found is None:
        return None
    model, dim, rows = found
    part = VectorPart("", 0, "", 0, len(rows))
    if store is not None:
        part = write_part(store.path, _unique("vec", ".dq"), rows, 0)
    return SegmentVectors(model, dim).add(part, rows)
