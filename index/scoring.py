"""BM25+ scores computed from postings.

The scores are those of ``rank_bm25.BM25Plus(corpus).get_scores(query)`` (same k1, b,
delta, IDF and length normalisation), but a query only touches the postings of its own
terms instead of walking every chunk in Python. BM25+ rather than BM25Okapi because Okapi
gives terms found in half of the chunks or more a negative IDF, so on a small folder a
chunk that matches the question can score below one that does not.

Every chunk gets ``delta * idf`` for each query term whether it contains it or not (that
is BM25+'s lower bound); we add that constant once and then only visit matching chunks.

Memory: a posting is a chunk id (int32) and a term frequency in the smallest unsigned
type that holds the largest one (usually one byte), 5 bytes where a precomputed float32
impact plus an id (bm25s) takes 8. Impacts are computed per query from the term
frequency and a per-chunk length norm, in float64, so scores stay equal to rank-bm25's.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

K1 = 1.5
B = 0.75
DELTA = 1.0

# A query whose postings are fewer than n_docs / _DENSE_RATIO is scored on its candidate
# chunks only (sorting the candidates costs P log P); more, and one pass over a dense
# array of every chunk is cheaper than the sort.
_DENSE_RATIO = 8


def _smallest_uint(max_value: int) -> type[np.unsignedinteger]:
    for dtype in (np.uint8, np.uint16, np.uint32):
        if max_value <= np.iinfo(dtype).max:
            return dtype
    return np.uint64


class PostingsBuilder:
    """Collects postings chunk by chunk, then builds a ``BM25Scorer``.

    Chunks come either as tokens (``add``) or as postings already counted against this
    builder's vocabulary (``add_postings``, what an incremental update keeps of the
    unchanged files), in the order their ids should follow.
    """

    def __init__(self, vocab: dict[str, int] | None = None) -> None:
        # A dict that numbers a new term on first sight, so mapping a chunk's tokens to
        # term ids runs in C (map + Counter) instead of a Python loop per token.
        self.vocab: defaultdict[str, int] = defaultdict(None, vocab or {})
        self.vocab.default_factory = self.vocab.__len__
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._terms = array("i")
        self._tfs = array("i")
        self._per_doc = array("i")
        self._doc_len = array("i")

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

    def add_postings(
        self, terms: np.ndarray, tfs: np.ndarray, per_doc: np.ndarray, doc_len: np.ndarray
    ) -> None:
        """Append chunks given chunk by chunk, as ``BM25Scorer.doc_postings`` returns."""
        self._flush()
        self._parts.append(
            (
                terms.astype(np.int32, copy=False),
                tfs.astype(np.int32, copy=False),
                per_doc.astype(np.int32, copy=False),
                doc_len.astype(np.int32, copy=False),
            )
        )

    def _flush(self) -> None:
        if len(self._per_doc):
            self._parts.append(
                (
                    np.frombuffer(self._terms, dtype=np.int32),
                    np.frombuffer(self._tfs, dtype=np.int32),
                    np.frombuffer(self._per_doc, dtype=np.int32),
                    np.frombuffer(self._doc_len, dtype=np.int32),
                )
            )
            self._terms, self._tfs = array("i"), array("i")
            self._per_doc, self._doc_len = array("i"), array("i")

    def build(self) -> BM25Scorer:
        self._flush()
        columns = [
            np.concatenate([part[i] for part in self._parts])
            if self._parts
            else np.zeros(0, dtype=np.int32)
            for i in range(4)
        ]
        self._parts = []
        terms, tfs, per_doc, doc_len = columns
        vocab = dict(self.vocab)
        df = np.bincount(terms, minlength=len(vocab))
        if not df.all():
            # terms whose chunks were all removed: rank-bm25 would not know them (IDF 0),
            # so they leave the vocabulary and the other ids close up
            kept = df > 0
            new_id = np.cumsum(kept) - 1
            terms = new_id[terms].astype(np.int32)
            vocab = {t: int(new_id[i]) for t, i in vocab.items() if kept[i]}
        return BM25Scorer.from_postings(vocab, terms, tfs, per_doc, doc_len)


class BM25Scorer:
    """Term postings (chunk ids and term frequencies) plus per-chunk length norms.

    ``indptr[t]:indptr[t + 1]`` delimits term ``t``'s postings in ``doc_ids`` (ascending
    chunk ids) and ``tfs``; ``vocab`` maps a term to ``t``.
    """

    def __init__(
        self,
        vocab: dict[str, int],
        indptr: np.ndarray,
        doc_ids: np.ndarray,
        tfs: np.ndarray,
        doc_len: np.ndarray,
        k1: float = K1,
        b: float = B,
        delta: float = DELTA,
    ) -> None:
        self.vocab = vocab
        self.indptr = indptr
        self.doc_ids = doc_ids
        self.tfs = tfs
        self.doc_len = doc_len
        self.k1, self.b, self.delta = k1, b, delta
        n_docs = len(doc_len)
        self.n_docs = n_docs
        df = np.diff(indptr)
        # rank-bm25: idf = log((N + 1) / df)
        self.idf = np.log((n_docs + 1) / np.maximum(df, 1)).astype(np.float64)
        total = float(doc_len.sum())
        self.avgdl = total / n_docs if n_docs else 0.0
        # rank-bm25 divides by avgdl; a corpus of empty chunks has none, and no term either
        safe_avgdl = self.avgdl or 1.0
        self._norm = k1 * (1 - b + b * doc_len.astype(np.float64) / safe_avgdl)

    @classmethod
    def build(cls, corpus: Iterable[Sequence[str]]) -> BM25Scorer:
        """Index tokenized chunks; chunk ids are their positions in ``corpus``.

        ``corpus`` may be a generator: each chunk's tokens are counted and dropped, so
        the token lists of a large corpus never need to be in memory together.
        """
        builder = PostingsBuilder()
        builder.add_many(corpus)
        return builder.build()

    @classmethod
    def from_postings(
        cls,
        vocab: dict[str, int],
        terms: np.ndarray,
        tfs: np.ndarray,
        postings_per_doc: np.ndarray,
        doc_len: np.ndarray,
    ) -> BM25Scorer:
        """Build from postings listed chunk by chunk: ``postings_per_doc[d]`` pairs of
        (term id, term frequency) for chunk ``d``, in chunk order.

        Every term of ``vocab`` must have a posting (``PostingsBuilder`` drops the others).
        """
        n_terms = len(vocab)
        docs = np.repeat(
            np.arange(len(postings_per_doc), dtype=np.int32), postings_per_doc
        )
        max_tf = int(tfs.max()) if len(tfs) else 0
        tfs = tfs.astype(_smallest_uint(max_tf))
        # a stable sort by term keeps each term's chunk ids ascending
        order = np.argsort(terms, kind="stable")
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=n_terms), out=indptr[1:])
        return cls(
            vocab,
            indptr,
            docs[order],
            tfs[order],
            np.ascontiguousarray(doc_len, dtype=np.int32),
        )

    def doc_postings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The postings chunk by chunk: ``(term ids, tfs, postings per chunk)``.

        Feed a range of chunks of it to ``PostingsBuilder(scorer.vocab).add_postings``.

        The inverse of ``from_postings``; incremental updates drop and append chunks in
        this form without tokenizing the unchanged ones again.
        """
        terms = np.repeat(
            np.arange(len(self.vocab), dtype=np.int32), np.diff(self.indptr)
        )
        # a stable sort by chunk keeps each chunk's terms in term-id order
        order = np.argsort(self.doc_ids, kind="stable")
        per_doc = np.bincount(self.doc_ids, minlength=self.n_docs).astype(np.int32)
        return terms[order], self.tfs[order], per_doc

    def term_weights(
        self, terms: Sequence[str], weights: Sequence[float] | None = None
    ) -> dict[int, float]:
        """Known term ids with their summed weights (a repeated term counts again)."""
        merged: dict[int, float] = {}
        for i, term in enumerate(terms):
            term_id = self.vocab.get(term)
            if term_id is not None:
                weight = 1.0 if weights is None else weights[i]
                merged[term_id] = merged.get(term_id, 0.0) + weight
        return merged

    def _impacts(self, term_id: int, weight: float) -> tuple[np.ndarray, np.ndarray]:
        """The chunks holding ``term_id`` and what it adds to each above the floor.

        ``get_scores`` and ``top_k`` both go through this one formula, adding terms in
        the same order, so their scores agree to the last bit and so do tie-breaks.
        """
        lo, hi = self.indptr[term_id], self.indptr[term_id + 1]
        docs = self.doc_ids[lo:hi]
        tf = self.tfs[lo:hi].astype(np.float64)
        impact = tf * (self.k1 + 1)
        impact /= self._norm[docs] + tf
        impact *= weight * self.idf[term_id]
        return docs, impact

    def _base(self, merged: dict[int, float]) -> float:
        return float(sum(w * self.idf[t] * self.delta for t, w in merged.items()))

    def get_scores(
        self, terms: Sequence[str], weights: Sequence[float] | None = None
    ) -> np.ndarray:
        """A score for every chunk, equal to rank-bm25's ``get_scores`` when unweighted."""
        merged = self.term_weights(terms, weights)
        scores = np.full(self.n_docs, self._base(merged), dtype=np.float64)
        for term_id, weight in merged.items():
            docs, impact = self._impacts(term_id, weight)
            # a term's chunk ids are distinct, so plain fancy-index += adds each once
            scores[docs] += impact
        return scores

    def top_k(
        self, terms: Sequence[str], k: int, weights: Sequence[float] | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best chunks that contain a query term, as ``(chunk id, score)``.

        Ties go to the lower chunk id, so results never depend on sort stability. Each
        score is bit for bit the one ``get_scores`` gives that chunk.
        """
        merged = self.term_weights(terms, weights)
        if not merged or k <= 0:
            return []
        base = self._base(merged)
        n_postings = sum(
            int(self.indptr[t + 1] - self.indptr[t]) for t in merged
        )
        if n_postings * _DENSE_RATIO < self.n_docs:
            parts = [self._impacts(t, w) for t, w in merged.items()]
            candidates = np.unique(np.concatenate([docs for docs, _ in parts]))
            scores = np.full(len(candidates), base, dtype=np.float64)
            for docs, impact in parts:
                scores[np.searchsorted(candidates, docs)] += impact
        else:
            scores = np.full(self.n_docs, base, dtype=np.float64)
            matched = np.zeros(self.n_docs, dtype=bool)
            for term_id, weight in merged.items():
                docs, impact = self._impacts(term_id, weight)
                scores[docs] += impact
                matched[docs] = True
            candidates = np.flatnonzero(matched)
            scores = scores[candidates]
        if k < len(candidates):
            # argpartition finds the k best in linear time but leaves them unordered;
            # widen to every candidate tied with the k-th so the tie-break stays exact
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            keep = np.flatnonzero(scores >= kth)
            candidates, scores = candidates[keep], scores[keep]
        order = np.lexsort((candidates, -scores))[:k]
        return [(int(candidates[i]), float(scores[i])) for i in order]

    def term_frequency(self, term: str, doc_id: int) -> int:
        """How often ``term`` occurs in chunk ``doc_id`` (0 when it does not)."""
        term_id = self.vocab.get(term)
        if term_id is None:
            return 0
        lo, hi = self.indptr[term_id], self.indptr[term_id + 1]
        docs = self.doc_ids[lo:hi]
        pos = int(np.searchsorted(docs, doc_id))
        return int(self.tfs[lo + pos]) if pos < len(docs) and docs[pos] == doc_id else 0

    def idf_of(self, term: str) -> float | None:
        """The term's IDF, or ``None`` for a term no chunk contains."""
        term_id = self.vocab.get(term)
        return None if term_id is None else float(self.idf[term_id])

    def unseen_idf(self) -> float:
        """The IDF a term would have if half a chunk held it: rarer than any real term."""
        return math.log((self.n_docs + 1) / 0.5)

    def contribution(self, term: str, doc_id: int, weight: float = 1.0) -> float:
        """What ``term`` adds to chunk ``doc_id``'s score, its BM25+ floor included."""
        idf = self.idf_of(term)
        if idf is None:
            return 0.0
        tf = self.term_frequency(term, doc_id)
        norm = self._norm[doc_id]
        return weight * idf * (self.delta + tf * (self.k1 + 1) / (norm + tf))
