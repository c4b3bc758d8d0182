"""From a question to ranked, cited passages, and the engine the adapters call."""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from index.answer import Semantic, compose_answer
from index.chunking import ChunkingConfig, chunk_document, indexed_text
from index.errors import QuestionError
from index.loaders import (
    PAGE_BREAK,
    Skipped,
    load_documents,
    load_file,
    source_lines,
    source_path,
)
from index.models import Answer, Chunk, Document, Passage, SourceInfo, TermContribution
from index.scoring import BM25Scorer
from index.query import answer_kinds, is_followup, question_terms
from index.tokenize import tokenize_many

if TYPE_CHECKING:
    from index.semantic.vectors import ChunkVectors

T = TypeVar("T")
Track = Callable[[Iterable[T]], Iterable[T]]


def _untracked(items: Iterable[T]) -> Iterable[T]:
    return items


class EngineConfig(BaseModel):
    """How questions are searched and answered."""

    model_config = ConfigDict(frozen=True)

    k: int = Field(5, ge=1, le=100, description="passages shown for a question")
    abstain_threshold: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="abstain when the answer's confidence (the share of the question's "
        "informative words it holds) is below this",
    )
    max_question_chars: int = Field(2000, ge=10, description="longest question accepted")
    followup_weight: float = Field(
        0.5, ge=0.0, le=1.0, description="weight of earlier turns' words in a follow-up"
    )
    max_answer_sentences: int = Field(3, ge=1, le=10, description="units in an answer")
    semantic_weight: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="share of BM25 in a passage's fused score when the index has chunk "
        "vectors (the rest is the semantic similarity)",
    )


@dataclass
class Index:
    """Chunks and the BM25 scorer over them; chunk ids are positions in ``chunks``."""

    root: Path
    chunks: Sequence[Chunk]
    scorer: BM25Scorer
    config: ChunkingConfig
    skipped: list[Skipped] = field(default_factory=list)
    # (size, mtime_ns) of each file as it was when the index was made current; a cited
    # file that differs is flagged "changed since indexed" (empty: not checked)
    file_stats: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    # the chunks' vectors and the model that made them (the semantic layer), or None
    vectors: ChunkVectors | None = None
    _sources: list[SourceInfo] | None = field(default=None, init=False, repr=False)

    def sources(self) -> list[SourceInfo]:
        """The indexed documents with their chunk counts, in index order (computed once)."""
        if self._sources is None:
            # a saved index's ChunkTable counts from its columns without making 200k Chunks
            source_counts = getattr(self.chunks, "source_counts", None)
            if source_counts is not None:
                counts: dict[str, int] = source_counts()
            else:
                counts = dict(Counter(chunk.source for chunk in self.chunks))
            self._sources = [SourceInfo(source=s, chunks=n) for s, n in counts.items()]
        return list(self._sources)


def build_index(
    root: Path,
    config: ChunkingConfig,
    documents: Sequence[Document] | None = None,
    track: Track[tuple[Path, str]] = _untracked,
    embedder: object | None = None,
    embed_track: Track[str] = _untracked,
) -> Index:
    """Load (unless ``documents`` are given), chunk and index a folder; ``track`` may wrap
    the files being loaded in a progress display. With an ``embedder`` (the semantic
    layer) every chunk is embedded too, ``embed_track`` wrapping the chunks' texts."""
    skipped: list[Skipped] = []
    if documents is None:
        loaded = load_documents(root, track)
        documents, skipped = loaded.documents, loaded.skipped
    chunks: list[Chunk] = []
    for doc in documents:
        chunks.extend(chunk_document(doc, config, first_id=len(chunks)))
    scorer = BM25Scorer.build(tokenize_many([indexed_text(c) for c in chunks]))
    vectors = None
    if embedder is not None:
        from index.semantic.model import embed_all
        from index.semantic.vectors import ChunkVectors

        matrix = embed_all(embedder, [indexed_text(c) for c in chunks], embed_track)  # type: ignore[arg-type]
        vectors = ChunkVectors(embedder, matrix)
    return Index(
        root=root, chunks=chunks, scorer=scorer, config=config, skipped=skipped, vectors=vectors
    )


class Conversation:
    """The questions asked so far in one conversation, newest last. A question that the
    engine read as a new topic (``Answer.followup`` False) starts the conversation over."""

    def __init__(self, max_turns: int = 3) -> None:
        self.turns: deque[str] = deque(maxlen=max_turns)

    def add(self, question: str, answer: Answer | None = None) -> None:
        if answer is not None and not answer.followup:
            self.turns.clear()
        self.turns.append(question)

    def clear(self) -> None:
        self.turns.clear()

    @property
    def history(self) -> tuple[str, ...]:
        return tuple(self.turns)


@dataclass(frozen=True)
class Query:
    """A question as the engine searches it.

    ``terms``/``weights``: every term to search for with its turn weight (a follow-up adds
    the earlier turns' terms at ``followup_weight``; a corrected typo weighs a little
    less). ``own``: the question's own known terms. ``unknown``: its words no document
    holds (after typo correction). ``kinds``: the kinds of answer it asks for.
    """

    terms: tuple[str, ...]
    weights: tuple[float, ...]
    own: frozenset[str] = frozenset()
    unknown: tuple[str, ...] = ()
    kinds: frozenset[str] = frozenset()
    followup: bool = False
    corrections: tuple[tuple[str, str], ...] = ()
    unknown_weight: float = 0.0  # how many unknown words, in rare-word units
    text: str = ""  # what the semantic layer embeds: the question (after earlier turns)


# a corrected word is probably what was meant, but not certainly
CORRECTED_WEIGHT = 0.9
PARTLY_KNOWN = 0.5


class Engine:
    """Answers questions over one index. Immutable once built, so it can be swapped."""

    def __init__(
        self,
        index: Index,
        config: EngineConfig | None = None,
        on_stale: Callable[[], None] | None = None,
    ) -> None:
        self.index = index
        self.config = config or EngineConfig()
        self.on_stale = on_stale  # told when a cited file changed since it was indexed

    # -- questions -------------------------------------------------------------------

    def _known(self, term: str) -> bool:
        return self.index.scorer.idf_of(term) is not None

    def query(self, question: str, history: Sequence[str] = ()) -> Query:
        """The weighted terms to search for; raises QuestionError for unusable input."""
        if not question or not question.strip():
            raise QuestionError("the question is empty: type a question about the documents")
        limit = self.config.max_question_chars
        if len(question) > limit:
            raise QuestionError(
                f"the question is {len(question):,} characters long; the limit is {limit:,} "
                "(DOCQA_MAX_QUESTION_CHARS): ask something shorter"
            )
        own = question_terms(question, self._known, self._idf)
        # "how much was that?" has no word of its own but leans on the turn before; a line
        # of stopwords or punctuation never repeats the last answer
        followup = bool(history) and is_followup(question, own)
        if not own and not followup:
            raise QuestionError(
                "the question has no searchable words (only stopwords or punctuation): "
                "ask with the words the documents would use"
            )
        terms = [t.term for t in own if t.known]
        weights = [CORRECTED_WEIGHT if t.corrected else 1.0 for t in own if t.known]
        text = " ".join((*history[-1:], question)) if followup else question
        if followup:
            seen = set(terms)
            for earlier in reversed(history):
                for term in question_terms(earlier, self._known, self._idf):
                    if term.known and term.term not in seen:
                        seen.add(term.term)
                        terms.append(term.term)
                        weights.append(self.config.followup_weight)
        return Query(
            terms=tuple(terms),
            weights=tuple(weights),
            own=frozenset(t.term for t in own if t.known),
            unknown=tuple(t.word for t in own if not t.known),
            unknown_weight=sum(
                # an identifier typed another way ("resp.ok" for "response.ok") still has
                # its known parts: its unknown whole counts half
                PARTLY_KNOWN if any(o.known and o.word == t.word for o in own) else 1.0
                for t in own
                if not t.known
            ),
            kinds=answer_kinds(question),
            followup=followup,
            corrections=tuple((t.word, t.term) for t in own if t.corrected),
            text=text,
        )

    def retrieve(
        self, question: str, k: int | None = None, history: Sequence[str] = ()
    ) -> list[Passage]:
        """The ``k`` best passages that share a word with the question, best first."""
        return self._retrieve(self.query(question, history), k)

    def _retrieve(
        self, query: Query, k: int | None, semantic: Semantic | None = None
    ) -> list[Passage]:
        k = self.config.k if k is None else k
        if self.index.vectors is not None:
            vectors = self.index.vectors
            question = (
                semantic.question if semantic is not None
                else vectors.embed_question(query.text)
            )  # fmt: skip
            return self._retrieve_fused(query, k, vectors, question)
        hits = self.index.scorer.top_k(query.terms, k, query.weights)
        return self.mark_stale([self._passage(query, c, score) for c, score in hits])

    def _passage(
        self, query: Query, chunk_id: int, score: float, similarity: float | None = None
    ) -> Passage:
        scorer = self.index.scorer
        matched = tuple(
            dict.fromkeys(t for t in query.terms if scorer.term_frequency(t, chunk_id))
        )
        return Passage.from_chunk(self.index.chunks[chunk_id], score, matched, similarity)

    def _retrieve_fused(
        self, query: Query, k: int, vectors: ChunkVectors, question: np.ndarray
    ) -> list[Passage]:
        """BM25 and the semantic similarity fused (``index.semantic.vectors.fuse``): a
        passage that shares no word with the question can be found by its meaning. A
        passage's ``score`` stays its BM25 score (what ``explain`` adds up); the order is
        the fused one."""
        from index.semantic.vectors import FUSION_DEPTH, fuse

        depth = max(k, FUSION_DEPTH)
        hits = self.index.scorer.top_k(query.terms, depth, query.weights)
        sims = vectors.similarities(question)
        passages = []
        for found in fuse(hits, sims, k, self.config.semantic_weight, depth):
            score = found.bm25 if found.bm25 is not None else self._bm25(query, found.chunk_id)
            passages.append(self._passage(query, found.chunk_id, score, found.similarity))
        return self.mark_stale(passages)

    def _bm25(self, query: Query, chunk_id: int) -> float:
        """One chunk's BM25 score for the query (what ``top_k`` would give it)."""
        merged: dict[str, float] = {}
        for term, weight in zip(query.terms, query.weights):
            merged[term] = merged.get(term, 0.0) + weight
        return sum(
            self.index.scorer.contribution(term, chunk_id, weight)
            for term, weight in merged.items()
        )

    def mark_stale(self, passages: Sequence[Passage]) -> list[Passage]:
        """The passages, those whose file changed since it was indexed flagged ``stale``
        (one stat per cited file); ``on_stale`` is told so the index can be refreshed."""
        stats = self.index.file_stats
        if not stats:
            return list(passages)
        changed: dict[str, bool] = {}
        for p in passages:
            if p.source not in changed:
                try:
                    st = source_path(self.index.root, p.source).stat()
                    now: tuple[int, int] | None = (st.st_size, st.st_mtime_ns)
                except OSError:
                    now = None
                changed[p.source] = now != stats.get(p.source)
        if any(changed.values()) and self.on_stale is not None:
            self.on_stale()
        return [
            p.model_copy(update={"stale": True}) if changed[p.source] else p for p in passages
        ]

    def ask(self, question: str, k: int | None = None, history: Sequence[str] = ()) -> Answer:
        """Retrieve, then answer verbatim from the passages or abstain."""
        query = self.query(question, history)
        semantic = None
        if self.index.vectors is not None:
            vectors = self.index.vectors
            semantic = Semantic(vectors.embed_question(query.text), vectors.embed_texts)
        passages = self._retrieve(query, k, semantic)
        return compose_answer(
            question,
            query.terms,
            self.informative_weights(query),
            passages,
            threshold=self.config.abstain_threshold,
            kinds=query.kinds,
            own_terms=query.own if query.followup else None,
            unknown_weight=self.unknown_weight(query),
            followup=query.followup,
            max_units=self.config.max_answer_sentences,
            semantic=semantic,
        )

    def informative_weights(self, query: Query) -> dict[str, float]:
        """Each known term of the query with its informative weight: IDF times its turn
        weight (the larger, for a term of several turns)."""
        weights: dict[str, float] = {}
        for term, weight in zip(query.terms, query.weights):
            weights[term] = max(weights.get(term, 0.0), weight * self._idf(term))
        return weights

    def unknown_weight(self, query: Query) -> float:
        """The informative weight of the query's words no chunk holds."""
        return query.unknown_weight * self._unknown_idf()

    def _idf(self, term: str) -> float:
        idf = self.index.scorer.idf_of(term)
        return self.index.scorer.unseen_idf() if idf is None else idf

    def _unknown_idf(self) -> float:
        """What a question word no document holds weighs: the IDF it would have if half a
        chunk held it, a little more than the rarest real word (the answer layer weighs
        it ``UNKNOWN_PENALTY`` times more in the confidence)."""
        n = self.index.scorer.n_docs
        return math.log((n + 1) / 0.5)

    def explain(
        self, question: str, chunk_id: int, history: Sequence[str] = ()
    ) -> list[TermContribution]:
        """What each query term added to one chunk's score; they sum to the score."""
        query = self.query(question, history)
        scorer = self.index.scorer
        rows: dict[str, TermContribution] = {}
        for term, weight in zip(query.terms, query.weights):
            if term in rows:  # a repeated term adds again, as in rank-bm25
                prev = rows[term]
                extra = scorer.contribution(term, chunk_id, weight)
                rows[term] = prev.model_copy(
                    update={"weight": prev.weight + weight, "score": prev.score + extra}
                )
                continue
            idf = scorer.idf_of(term)
            rows[term] = TermContribution(
                term=term,
                weight=weight,
                idf=idf if idf is not None else 0.0,
                tf=scorer.term_frequency(term, chunk_id),
                score=scorer.contribution(term, chunk_id, weight),
            )
        # words no document holds add nothing, and are listed so the user sees them
        for word in query.unknown:
            rows.setdefault(word, TermContribution(term=word, weight=1.0, idf=0.0, tf=0, score=0.0))
        return list(rows.values())

    # -- documents -------------------------------------------------------------------

    def sources(self) -> list[SourceInfo]:
        return self.index.sources()

    def source_lines(self, passage: Passage, around: int = 2) -> list[SourceLine] | None:
        """The cited lines of the file plus ``around`` lines each side, as ``(line number,
        text, cited span)``: the span is the ``(start, end)`` columns of the line that the
        passage covers (a chunk may start or end mid-line), None outside the citation. A
        PDF gives its page's lines, a DOCX its paragraphs. The file is read through the
        loader's checks (inside the folder, a regular file), so nothing else is ever shown:
        None when it cannot be (gone, a link leading out, a pipe); [] when it no longer
        has the cited lines."""
        if passage.page is not None:
            path = source_path(self.index.root, passage.source)
            doc = load_file(self.index.root, path, passage.source)
            if isinstance(doc, Skipped):
                return None
            pages = doc.text.split(PAGE_BREAK)
            lines = pages[passage.page - 1].split("\n") if passage.page <= len(pages) else []
        else:
            lines = source_lines(self.index.root, passage.source)
            if not lines:  # even an empty file has one (empty) line: this one was not read
                return None
            if len(lines) > 1 and lines[-1] == "":
                lines.pop()  # the end of the last line, not a line of its own
        first = max(1, passage.start_line - around)
        last = min(len(lines), passage.end_line + around)
        spans = _cited_spans(lines, passage)
        return [(n, lines[n - 1], spans.get(n)) for n in range(first, last + 1)]


SourceLine = tuple[int, str, "tuple[int, int] | None"]


def _cited_spans(lines: Sequence[str], passage: Passage) -> dict[int, tuple[int, int]]:
    """The columns of each cited line that the passage's text covers: all of the middle
    lines, the first from where the passage's text starts, the last up to where it ends.
    Where the file's line does not hold the passage's words as they are (markup removed
    from Markdown or HTML), the whole line counts."""
    s, e = passage.start_line, min(passage.end_line, len(lines))
    spans = {n: (0, len(lines[n - 1])) for n in range(s, e + 1)}
    text_lines = [line.strip() for line in passage.text.split("\n") if line.strip()]
    if not spans or not text_lines:
        return spans
    head, tail = text_lines[0], text_lines[-1]
    first_line, last_line = lines[s - 1], lines[e - 1]
    start = 0
    for candidate in (head, *(" ".join(head.split()[:n]) for n in (8, 4, 2, 1))):
        at = first_line.find(candidate)
        if at >= 0:
            start = at
            break
    end = len(last_line)
    for candidate in (tail, *(" ".join(tail.split()[-n:]) for n in (8, 4, 2, 1))):
        at = last_line.find(candidate, start if s == e else 0)
        if at >= 0:
            end = at + len(candidate)
            break
    if s == e:
        spans[s] = (start, max(start, end))
    else:
        spans[s] = (start, len(first_line))
        spans[e] = (0, end)
    return spans
