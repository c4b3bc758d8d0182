"""BM25+ scores computed from postings, over one or several segments.

The scores are those of ``rank_bm25.BM25Plus(corpus).get_scores(query)`` (same k1, b,
delta, IDF and length normalisation), but a query only touches the postings of its own
terms. BM25+ rather than BM25Okapi because Okapi gives terms found in half of the chunks
or more a negative IDF, so on a small folder a chunk that matches the question can score
below one that does not.

An index is a list of immutable segments (``Postings``: a sorted vocabulary, each term's
chunk ids and term frequencies, each chunk's length) and, per segment, the chunks deleted
since it was written (``Deletions``). The statistics BM25 needs (live chunk count, average
length, document frequencies) are summed over the live chunks of every segment, so the
scores equal those of one index built from the live chunks alone. Chunk ids are global:
the live chunks numbered in segment order.

Every chunk gets ``delta * idf`` for each query term whether it contains it or not (that
is BM25+'s lower bound); we add that constant once and then only visit matching chunks.
``top_k`` runs in the compiled kernel (``index/_kernel.c``: MaxScore pruning, exact
rescoring of the survivors) when it is built, and in numpy otherwise; both give the
scores ``get_scores`` gives, bit for bit.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

try:
    import index._kernel as _kernel
except ImportError:  # not built (no compiler): the numpy paths below do the same work
    _kernel = None

K1 = 1.5
B = 0.75
DELTA = 1.0


def _smallest_uint(max_value: int) -> type[np.unsignedinteger]:
    for dtype in (np.uint8, np.uint16, np.uint32):
        if max_value <= np.iinfo(dtype).max:
            return dtype
    raise ValueError(f"a term frequency of {max_value} does not fit in 32 bits")


# --- one segment ------------------------------------------------------------------------


class Vocabulary:
    """A segment's terms, sorted by their UTF-8 bytes: term ``i`` is
    ``blob[offsets[i]:offsets[i + 1]]``. Looked up by binary search, so opening a saved
    segment builds no dict of its terms."""

    def __init__(self, blob: bytes | memoryview, offsets: np.ndarray) -> None:
        self.blob = blob
        self.offsets = offsets

    @classmethod
    def from_terms(cls, terms: Iterable[str]) -> Vocabulary:
        encoded = sorted(t.encode("utf-8") for t in terms)
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return cls(b"".join(encoded), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def _bytes(self, i: int) -> bytes:
        return bytes(self.blob[int(self.offsets[i]) : int(self.offsets[i + 1])])

    def term(self, i: int) -> str:
        return self._bytes(i).decode("utf-8")

    def lookup(self, term: str) -> int:
        """The term's id, or -1."""
        key = term.encode("utf-8")
        if _kernel is not None:
            return int(_kernel.lookup(self.blob, self.offsets, key))
        n = len(self)
        i = bisect_left(range(n), key, key=self._bytes)
        return i if i < n and self._bytes(i) == key else -1

    def __iter__(self) -> Iterator[str]:
        return (self.term(i) for i in range(len(self)))


@dataclass
class Postings:
    """One segment's inverted index. ``indptr[t]:indptr[t + 1]`` delimits term ``t``'s
    postings in ``doc_ids`` (ascending local chunk ids) and ``tfs``; ``max_tf[t]`` is the
    largest of them (for the pruning bound); ``doc_len`` counts each chunk's terms."""

    vocab: Vocabulary
    indptr: np.ndarray  # int64, n_terms + 1
    doc_ids: np.ndarray  # int32
    tfs: np.ndarray  # uint8, uint16 or uint32
    doc_len: np.ndarray  # int32, n_docs
    max_tf: np.ndarray  # uint32, n_terms

    @property
    def n_docs(self) -> int:
        return len(self.doc_len)

    def postings(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = int(self.indptr[term_id]), int(self.indptr[term_id + 1])
        return self.doc_ids[lo:hi], self.tfs[lo:hi]

    def tf(self, term_id: int, doc: int) -> int:
        docs, tfs = self.postings(term_id)
        pos = int(np.searchsorted(docs, doc))
        return int(tfs[pos]) if pos < len(docs) and docs[pos] == doc else 0

    @classmethod
    def from_counts(
        cls,
        terms: Sequence[str],
        term_ids: np.ndarray,
        tfs: np.ndarray,
        per_doc: np.ndarray,
        doc_len: np.ndarray,
    ) -> Postings:
        """Invert postings listed chunk by chunk: ``per_doc[d]`` pairs of (index into
        ``terms``, term frequency) for chunk ``d``. Terms without a posting are left out."""
        term_ids = np.asarray(term_ids)
        df = np.bincount(term_ids, minlength=len(terms))
        used = [t for t, n in zip(terms, df.tolist()) if n]
        vocab = Vocabulary.from_terms(used)
        # old id → rank of its UTF-8 bytes among the used terms
        order = sorted(range(len(terms)), key=lambda i: terms[i].encode("utf-8"))
        new_id = np.full(len(terms), -1, dtype=np.int64)
        rank = 0
        for i in order:
            if df[i]:
                new_id[i] = rank
                rank += 1
        counts = np.zeros(len(vocab), dtype=np.int64)
        counts[new_id[df > 0]] = df[df > 0]
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        tfs = np.asarray(tfs)
        max_tf = int(tfs.max()) if len(tfs) else 0
        tf_type = _smallest_uint(max_tf)
        if _kernel is not None and len(term_ids):
            # a counting sort: each posting straight to its place, chunk ids ascending
            doc_ids = np.empty(len(term_ids), dtype=np.int32)
            sorted_tfs = np.empty(len(term_ids), dtype=tf_type)
            _kernel.invert(
                np.ascontiguousarray(term_ids, dtype=np.int32), new_id.astype(np.int32),
                np.ascontiguousarray(per_doc, dtype=np.int32),
                np.ascontiguousarray(tfs, dtype=np.int32), indptr, doc_ids, sorted_tfs,
                np.dtype(tf_type).itemsize,
            )
        else:
            mapped = new_id[term_ids]
            docs = np.repeat(np.arange(len(per_doc), dtype=np.int32), per_doc)
            # a stable sort by term keeps each term's chunk ids ascending
            by_term = np.argsort(mapped, kind="stable")
            doc_ids = docs[by_term]
            sorted_tfs = tfs[by_term].astype(tf_type)
        return cls(
            vocab=vocab,
            indptr=indptr,
            doc_ids=doc_ids,
            tfs=sorted_tfs,
            doc_len=np.ascontiguousarray(doc_len, dtype=np.int32),
            max_tf=_max_per_term(indptr, sorted_tfs),
        )


def _max_per_term(indptr: np.ndarray, tfs: np.ndarray) -> np.ndarray:
    out = np.zeros(len(indptr) - 1, dtype=np.uint32)
    nonempty = np.flatnonzero(np.diff(indptr))
    if len(nonempty):
        out[nonempty] = np.maximum.reduceat(tfs, indptr[nonempty]).astype(np.uint32)
    return out


@dataclass
class Deletions:
    """The chunks of one segment deleted since it was written, and what they took from
    its statistics: ``counts[i]`` postings of term ``terms[i]`` (ascending term ids)."""

    mask: np.ndarray  # uint8 per chunk, 1 = deleted
    terms: np.ndarray  # int32
    counts: np.ndarray  # int32
    length: int  # summed doc_len of the deleted chunks

    @classmethod
    def none(cls, n_docs: int) -> Deletions:
        empty = np.zeros(0, dtype=np.int32)
        return cls(np.zeros(n_docs, dtype=np.uint8), empty, empty, 0)

    @property
    def count(self) -> int:
        return int(np.count_nonzero(self.mask))

    def delete(self, postings: Postings, chunks: np.ndarray) -> Deletions:
        """A new ``Deletions`` with the local chunk ids ``chunks`` deleted as well."""
        new = np.zeros(len(self.mask), dtype=np.uint8)
        new[chunks] = 1
        new &= self.mask == 0  # only what was not deleted already
        if not new.any():
            return self
        added = _marked_per_term(postings, new)
        dense = np.zeros(len(postings.vocab), dtype=np.int64)
        dense[self.terms] = self.counts
        dense += added
        terms = np.flatnonzero(dense).astype(np.int32)
        return Deletions(
            mask=self.mask | new,
            terms=terms,
            counts=dense[terms].astype(np.int32),
            length=self.length + int(postings.doc_len[new.view(bool)].sum()),
        )


def _marked_per_term(postings: Postings, mask: np.ndarray) -> np.ndarray:
    """How many of each term's postings are in chunks marked in ``mask``."""
    out = np.zeros(len(postings.vocab), dtype=np.int32)
    if _kernel is not None:
        _kernel.count_marked(postings.indptr, postings.doc_ids, mask, out)
        return out
    # in slices, so the fallback never holds a term id per posting at once
    step = 1 << 20
    for lo in range(0, len(postings.doc_ids), step):
        hi = min(lo + step, len(postings.doc_ids))
        marked = np.flatnonzero(mask[postings.doc_ids[lo:hi]]) + lo
        if len(marked):
            term_of = np.searchsorted(postings.indptr, marked, side="right") - 1
            out += np.bincount(term_of, minlength=len(out)).astype(np.int32)
    return out


# --- building a segment from tokens -----------------------------------------------------


@dataclass
class Counted:
    """Chunks' terms counted (by a build worker, to be added to a ``PostingsBuilder``):
    chunk ``d``'s distinct terms are ``terms[term_idx[p]]`` for ``p`` in
    ``ptr[d]:ptr[d + 1]``, each occurring ``tfs[p]`` times; ``doc_len[d]`` counts all its
    terms."""

    terms: list[str]
    term_idx: np.ndarray  # int32
    tfs: np.ndarray  # int32
    ptr: np.ndarray  # int64, chunks + 1
    doc_len: np.ndarray  # int32


def count_terms(corpus: Iterable[Sequence[str]]) -> Counted:
    """Each chunk's distinct terms with their counts (in the kernel when it is built)."""
    vocab: defaultdict[str, int] = defaultdict(None)
    vocab.default_factory = vocab.__len__
    term_of = vocab.__getitem__
    ids = array("i")
    lengths = array("i")
    for tokens in corpus:
        ids.extend(map(term_of, tokens))
        lengths.append(len(tokens))
    terms = list(vocab)
    n_docs = len(lengths)
    doc_len = np.frombuffer(lengths, dtype=np.int32).copy() if n_docs else np.zeros(0, np.int32)
    flat = np.frombuffer(ids, dtype=np.int32) if len(ids) else np.zeros(0, np.int32)
    if _kernel is not None:
        term_idx = np.empty(len(flat), dtype=np.int32)
        tfs = np.empty(len(flat), dtype=np.int32)
        per_doc = np.empty(n_docs, dtype=np.int32)
        n = _kernel.count_terms(flat, doc_len, len(terms), term_idx, tfs, per_doc)
        term_idx, tfs = term_idx[:n].copy(), tfs[:n].copy()
    else:
        doc = np.repeat(np.arange(n_docs, dtype=np.int64), doc_len)
        keys, tf = np.unique(doc * max(len(terms), 1) + flat, return_counts=True)
        term_idx = (keys % max(len(terms), 1)).astype(np.int32)
        tfs = tf.astype(np.int32)
        per_doc = np.bincount(keys // max(len(terms), 1), minlength=n_docs).astype(np.int32)
    ptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(per_doc, out=ptr[1:])
    return Counted(terms, term_idx, tfs, ptr, doc_len)



class PostingsBuilder:
    """Collects chunks' tokens, in chunk order, then inverts them into ``Postings``."""

    def __init__(self) -> None:
        # A dict that numbers a new term on first sight, so mapping a chunk's tokens to
        # term ids runs in C (map + Counter) instead of a Python loop per token.
        self.vocab: defaultdict[str, int] = defaultdict(None)
        self.vocab.default_factory = self.vocab.__len__
        self._terms = array("i")
        self._tfs = array("i")
        self._per_doc = array("i")
        self._doc_len = array("i")
        self._mapped: tuple[list[str], np.ndarray] | None = None  # add_counted's last terms

    def __len__(self) -> int:
        return len(self._per_doc)

    def add(self, tokens: Sequence[str]) -> None:
        counts = Counter(map(self.vocab.__getitem__, tokens))
        self._terms.extend(counts.keys())
        self._tfs.extend(counts.values())
        self._per_doc.append(len(counts))
        self._doc_len.append(len(tokens))

    def add_many(self, corpus: Iterable[Sequence[str]]) -> None:
        term_of = self.vocab.__getitem__
        terms, tfs = self._terms, self._tfs
        per_doc, doc_len = self._per_doc, self._doc_len
        for tokens in corpus:  # add() inlined: this loop runs once per chunk
            counts = Counter(map(term_of, tokens))
            terms.extend(counts.keys())
            tfs.extend(counts.values())
            per_doc.append(len(counts))
            doc_len.append(len(tokens))

    def add_counted(self, counted: Counted, lo: int = 0, hi: int | None = None) -> None:
        """Append chunks ``lo:hi`` of ``counted`` (a build worker's batch, whose terms are
        mapped to this builder's ids once however many slices of it are added)."""
        hi = len(counted.doc_len) if hi is None else hi
        if self._mapped is None or self._mapped[0] is not counted.terms:
            term_of = self.vocab.__getitem__
            ids = np.fromiter(map(term_of, counted.terms), dtype=np.int32, count=len(counted.terms))
            self._mapped = (counted.terms, ids)
        ids = self._mapped[1]
        p0, p1 = int(counted.ptr[lo]), int(counted.ptr[hi])
        self._terms.frombytes(ids[counted.term_idx[p0:p1]].tobytes())
        self._tfs.frombytes(np.ascontiguousarray(counted.tfs[p0:p1], dtype=np.int32).tobytes())
        self._per_doc.frombytes(np.diff(counted.ptr[lo : hi + 1]).astype(np.int32).tobytes())
        self._doc_len.frombytes(np.ascontiguousarray(counted.doc_len[lo:hi], dtype=np.int32).tobytes())

    def postings(self) -> Postings:
        terms = [""] * len(self.vocab)
        for term, i in self.vocab.items():
            terms[i] = term
        return Postings.from_counts(
            terms,
            np.frombuffer(self._terms, dtype=np.int32),
            np.frombuffer(self._tfs, dtype=np.int32),
            np.frombuffer(self._per_doc, dtype=np.int32),
            np.frombuffer(self._doc_len, dtype=np.int32),
        )

    def build(self) -> BM25Scorer:
        return BM25Scorer([self.postings()])


# --- the scorer over segments -----------------------------------------------------------


class BM25Scorer:
    """BM25+ over the live chunks of ``segments`` (each with its ``Deletions``, or None).

    Global chunk ids number the live chunks in segment order.
    """

    def __init__(
        self,
        segments: Sequence[Postings],
        deletions: Sequence[Deletions | None] | None = None,
        k1: float = K1,
        b: float = B,
        delta: float = DELTA,
    ) -> None:
        self.segments = list(segments)
        dels = list(deletions) if deletions is not None else [None] * len(self.segments)
        self.deletions = [d if d is not None and d.count else None for d in dels]
        self.k1, self.b, self.delta = k1, b, delta
        self.bases: list[int] = []
        self._ranks: list[np.ndarray | None] = []
        self._live_local: list[np.ndarray | None] = []
        n = total = 0
        for seg, dele in zip(self.segments, self.deletions):
            self.bases.append(n)
            if dele is None:
                self._ranks.append(None)
                self._live_local.append(None)
                n += seg.n_docs
                total += int(seg.doc_len.sum(dtype=np.int64))
            else:
                live = dele.mask == 0
                self._ranks.append((np.cumsum(live, dtype=np.int32) - 1).astype(np.int32))
                self._live_local.append(np.flatnonzero(live).astype(np.int32))
                n += seg.n_docs - dele.count
                total += int(seg.doc_len.sum(dtype=np.int64)) - dele.length
        self.n_docs = n
        self.total_len = total
        self.avgdl = total / n if n else 0.0
        self._kernel_segments: list[tuple[object, ...]] | None = None

    @classmethod
    def build(cls, corpus: Iterable[Sequence[str]]) -> BM25Scorer:
        """Index tokenized chunks as one segment; chunk ids are positions in ``corpus``.

        ``corpus`` may be a generator: each chunk's tokens are counted and dropped.
        """
        builder = PostingsBuilder()
        builder.add_many(corpus)
        return builder.build()

    # -- ids -------------------------------------------------------------------------

    def locate(self, doc_id: int) -> tuple[int, int]:
        """``(segment, local chunk id)`` of a global chunk id."""
        if not 0 <= doc_id < self.n_docs:
            raise IndexError(f"chunk {doc_id} out of range (0-{self.n_docs - 1})")
        s = bisect_left(self.bases, doc_id + 1) - 1
        live = self._live_local[s]
        offset = doc_id - self.bases[s]
        return s, int(live[offset]) if live is not None else offset

    def live_ids(self, s: int) -> np.ndarray:
        """The local ids of segment ``s``'s live chunks, in order."""
        live = self._live_local[s]
        return live if live is not None else np.arange(self.segments[s].n_docs, dtype=np.int32)

    # -- statistics ------------------------------------------------------------------

    def _term_ids(self, term: str) -> list[int]:
        return [seg.vocab.lookup(term) for seg in self.segments]

    def _df(self, ids: Sequence[int]) -> int:
        df = 0
        for seg, dele, t in zip(self.segments, self.deletions, ids):
            if t < 0:
                continue
            df += int(seg.indptr[t + 1] - seg.indptr[t])
            if dele is not None:
                i = int(np.searchsorted(dele.terms, t))
                if i < len(dele.terms) and dele.terms[i] == t:
                    df -= int(dele.counts[i])
        return df

    def df(self, term: str) -> int:
        """How many live chunks hold ``term``."""
        return self._df(self._term_ids(term))

    def idf_of(self, term: str) -> float | None:
        """The term's IDF, or ``None`` for a term no chunk contains."""
        df = self.df(term)
        return math.log((self.n_docs + 1) / df) if df else None

    def unseen_idf(self) -> float:
        """The IDF a term would have if half a chunk held it: rarer than any real term."""
        return math.log((self.n_docs + 1) / 0.5)

    @property
    def vocab(self) -> LiveTerms:
        return LiveTerms(self)

    def _merged(
        self, terms: Sequence[str], weights: Sequence[float] | None
    ) -> dict[str, float]:
        """Distinct terms in first-seen order with their summed weights."""
        merged: dict[str, float] = {}
        for i, term in enumerate(terms):
            merged[term] = merged.get(term, 0.0) + (1.0 if weights is None else weights[i])
        return merged

    def _query(
        self, terms: Sequence[str], weights: Sequence[float] | None
    ) -> tuple[list[tuple[list[int], float]], float]:
        """Known terms as (ids per segment, weight * idf), and the BM25+ floor."""
        out = []
        for term, weight in self._merged(terms, weights).items():
            ids = self._term_ids(term)
            df = self._df(ids)
            if df:
                out.append((ids, weight * math.log((self.n_docs + 1) / df)))
        base = float(sum(wi * self.delta for _, wi in out))
        return out, base

    def _norm(self, s: int) -> np.ndarray:
        doc_len = self.segments[s].doc_len.astype(np.float64)
        return self.k1 * (1 - self.b + self.b * doc_len / (self.avgdl or 1.0))

    def _impacts(
        self, s: int, term_id: int, wi: float, norm: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The segment's live chunks holding the term and what it adds to each above the
        floor; the same operations, in the same order, as the kernel's."""
        docs, tf_raw = self.segments[s].postings(term_id)
        dele = self.deletions[s]
        if dele is not None:
            keep = dele.mask[docs] == 0
            docs, tf_raw = docs[keep], tf_raw[keep]
        tf = tf_raw.astype(np.float64)
        impact = tf * (self.k1 + 1)
        impact /= norm[docs] + tf
        impact *= wi
        return docs, impact

    # -- scoring ---------------------------------------------------------------------

    def get_scores(
        self, terms: Sequence[str], weights: Sequence[float] | None = None
    ) -> np.ndarray:
        """A score for every live chunk, equal to rank-bm25's ``get_scores`` when
        unweighted."""
        query, base = self._query(terms, weights)
        parts = []
        for s, seg in enumerate(self.segments):
            scores = np.full(seg.n_docs, base, dtype=np.float64)
            norm = self._norm(s)
            for ids, wi in query:
                if ids[s] >= 0:
                    docs, impact = self._impacts(s, ids[s], wi, norm)
                    # a term's chunk ids are distinct, so fancy-index += adds each once
                    scores[docs] += impact
            parts.append(scores[self.live_ids(s)])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float64)

    def top_k(
        self,
        terms: Sequence[str],
        k: int,
        weights: Sequence[float] | None = None,
        prune: bool = True,
    ) -> list[tuple[int, float]]:
        """The ``k`` best chunks that contain a query term, as ``(chunk id, score)``.

        Ties go to the lower chunk id. Each score is bit for bit the one ``get_scores``
        gives that chunk. ``prune=False`` scores every posting (for tests and the
        benchmark); the results are the same.
        """
        if k <= 0 or self.n_docs == 0:
            return []
        if _kernel is not None:
            merged = self._merged(terms, weights)
            hits = _kernel.search(
                [t.encode("utf-8") for t in merged],
                list(merged.values()),
                k,
                self._kernel_view(),
                self.n_docs,
                self.total_len,
                self.k1,
                self.b,
                self.delta,
                prune,
            )
            return [(int(doc), float(score)) for doc, score in hits]
        return self._top_k_numpy(terms, k, weights)

    def _kernel_view(self) -> list[tuple[object, ...]]:
        if self._kernel_segments is None:
            view = []
            for s, seg in enumerate(self.segments):
                dele = self.deletions[s]
                view.append(
                    (
                        seg.vocab.blob,
                        seg.vocab.offsets,
                        seg.indptr,
                        seg.doc_ids,
                        seg.tfs,
                        seg.tfs.dtype.itemsize,
                        seg.doc_len,
                        seg.max_tf,
                        None if dele is None else dele.mask,
                        None if dele is None else dele.terms,
                        None if dele is None else dele.counts,
                        self._ranks[s],
                        self.bases[s],
                        int(seg.doc_len.min()) if seg.n_docs else 0,
                        # every chunk's length norm, computed as the kernel would (the
                        # same operations in the same order), once per scorer
                        self._norm(s),
                    )
                )
            self._kernel_segments = view
        return self._kernel_segments

    def _top_k_numpy(
        self, terms: Sequence[str], k: int, weights: Sequence[float] | None
    ) -> list[tuple[int, float]]:
        query, base = self._query(terms, weights)
        found_ids, found_scores = [], []
        for s, seg in enumerate(self.segments):
            present = [(ids[s], wi) for ids, wi in query if ids[s] >= 0]
            if not present:
                continue
            norm = self._norm(s)
            scores = np.full(seg.n_docs, base, dtype=np.float64)
            matched = np.zeros(seg.n_docs, dtype=bool)
            for term_id, wi in present:
                docs, impact = self._impacts(s, term_id, wi, norm)
                scores[docs] += impact
                matched[docs] = True
            local = np.flatnonzero(matched)
            rank = self._ranks[s]
            gids = self.bases[s] + (rank[local] if rank is not None else local)
            found_ids.append(gids.astype(np.int64))
            found_scores.append(scores[local])
        if not found_ids:
            return []
        candidates = np.concatenate(found_ids)
        scores = np.concatenate(found_scores)
        if k < len(candidates):
            # argpartition finds the k best in linear time but leaves them unordered;
            # widen to every candidate tied with the k-th so the tie-break stays exact
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            keep = np.flatnonzero(scores >= kth)
            candidates, scores = candidates[keep], scores[keep]
        order = np.lexsort((candidates, -scores))[:k]
        return [(int(candidates[i]), float(scores[i])) for i in order]

    # -- one chunk -------------------------------------------------------------------

    def term_frequency(self, term: str, doc_id: int) -> int:
        """How often ``term`` occurs in chunk ``doc_id`` (0 when it does not)."""
        s, local = self.locate(doc_id)
        term_id = self.segments[s].vocab.lookup(term)
        return 0 if term_id < 0 else self.segments[s].tf(term_id, local)

    def contribution(self, term: str, doc_id: int, weight: float = 1.0) -> float:
        """What ``term`` adds to chunk ``doc_id``'s score, its BM25+ floor included."""
        idf = self.idf_of(term)
        if idf is None:
            return 0.0
        s, local = self.locate(doc_id)
        tf = self.term_frequency(term, doc_id)
        dl = float(self.segments[s].doc_len[local])
        norm = self.k1 * (1 - self.b + self.b * dl / (self.avgdl or 1.0))
        return weight * idf * (self.delta + tf * (self.k1 + 1) / (norm + tf))


class LiveTerms:
    """The terms some live chunk holds (``term in scorer.vocab``)."""

    def __init__(self, scorer: BM25Scorer) -> None:
        self._scorer = scorer

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self._scorer.df(term) > 0

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for seg in self._scorer.segments:
            for term in seg.vocab:
                if term not in seen:
                    seen.add(term)
                    if term in self:
                        yield term

    def __len__(self) -> int:
        return sum(1 for _ in self)
