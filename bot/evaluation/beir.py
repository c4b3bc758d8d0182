"""BEIR collections for ``docqa eval --beir DIR``: load, index, rank documents, score.

A BEIR folder holds ``corpus.jsonl`` (``{"_id", "title", "text"}`` a line),
``queries.jsonl`` (``{"_id", "text"}``) and ``qrels.tsv`` or ``qrels/test.tsv``
(``query-id  corpus-id  score``, a header line first). Each corpus record becomes one
Markdown document whose title is its ``#`` heading, so that every chunk of it is indexed
with the title (see ``index.chunking.indexed_text``); documents are chunked like any file.
A document ranks by an even mix of its best chunk's score and its own BM25 score over its
whole text, each divided by its maximum over the documents (``DocumentRanker``): the best
chunk alone misses documents whose matches are spread over several chunks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bot.evaluation.metrics import average_precision_at_k, mean, mrr_at_k, ndcg_at_k, recall_at_k
from index.errors import QuestionError
from index.loaders import text_document
from index.models import Document
from index.retrieval import Engine
from index.scoring import BM25Scorer
from index.tokenize import tokenize_many

T = TypeVar("T")

DEPTH = 100  # documents ranked per query: enough for recall@100 and map@100
# the share of the best chunk in a document's score; the rest is the whole document's
CHUNK_SHARE = 0.5
METRICS = ("ndcg@10", "recall@100", "mrr@10", "map@100")


class DatasetError(Exception):
    """A BEIR folder is missing a file or holds a line that cannot be read."""


@dataclass(frozen=True)
class BeirDataset:
    """A corpus as ``(doc id, text)`` pairs, the queries, and their judgements."""

    corpus: list[tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    def judged_queries(self) -> list[tuple[str, str]]:
        """``(query id, text)`` of every query with a judgement, in the queries' order."""
        return [(qid, text) for qid, text in self.queries.items() if qid in self.qrels]


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path} cannot be read: {exc.strerror or exc}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}: line {number} is not valid JSON: {exc.msg}") from None
            if not isinstance(record, dict) or "_id" not in record:
                raise DatasetError(f"{path}: line {number} has no `_id` field")
            yield number, record


def _qrels_path(folder: Path) -> Path:
    for candidate in (folder / "qrels.tsv", folder / "qrels" / "test.tsv"):
        if candidate.is_file():
            return candidate
    raise DatasetError(
        f"{folder} has no qrels.tsv or qrels/test.tsv: a BEIR folder holds corpus.jsonl, "
        "queries.jsonl and the judgements"
    )


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise DatasetError(f"{path}: line {number} needs query-id, corpus-id and score")
        try:
            grade = int(parts[2])
        except ValueError:
            if number == 1:  # the header: query-id corpus-id score
                continue
            raise DatasetError(
                f"{path}: line {number}: score {parts[2]!r} is not a whole number"
            ) from None
        qrels.setdefault(parts[0].strip(), {})[parts[1].strip()] = grade
    return qrels


def load_beir(folder: Path) -> BeirDataset:
    """Read a BEIR folder; raises DatasetError naming the file and line that is wrong."""
    if not folder.is_dir():
        raise DatasetError(f"BEIR folder {folder} does not exist")
    for name in ("corpus.jsonl", "queries.jsonl"):
        if not (folder / name).is_file():
            raise DatasetError(f"{folder} has no {name}: a BEIR folder holds corpus.jsonl, "
                               "queries.jsonl and qrels.tsv")
    corpus = []
    for _, record in _read_jsonl(folder / "corpus.jsonl"):
        title = str(record.get("title") or "").strip()
        body = str(record.get("text") or "")
        corpus.append((str(record["_id"]), f"# {title}\n\n{body}" if title else body))
    queries = {
        str(r["_id"]): str(r.get("text") or "") for _, r in _read_jsonl(folder / "queries.jsonl")
    }
    qrels = _read_qrels(_qrels_path(folder))
    if not corpus:
        raise DatasetError(f"{folder / 'corpus.jsonl'} holds no documents")
    dataset = BeirDataset(corpus=corpus, queries=queries, qrels=qrels)
    if not dataset.judged_queries():
        raise DatasetError(f"{folder}: no query in queries.jsonl has a judgement in the qrels")
    return dataset


def beir_documents(dataset: BeirDataset) -> list[Document]:
    """One document a corpus record, its source the record's id (records with no text are
    passed over: they give no chunk)."""
    return [
        text_document(doc_id, text, markdown=True)
        for doc_id, text in dataset.corpus
        if text.strip()
    ]


class DocumentRanker:
    """Ranks whole documents for a question.

    A document's score is ``CHUNK_SHARE`` of its best chunk's BM25 score plus the rest of
    its own BM25 score as one text (the index's chunks, and a second BM25 index over whole
    documents), each divided by its maximum over the documents. Scores are taken above
    BM25+'s floor (the part every document gets), so a document that matches nothing
    scores 0 and is not ranked.
    """

    def __init__(self, engine: Engine, documents: list[Document]) -> None:
        self.engine = engine
        self.sources = [doc.source for doc in documents]
        position = {source: i for i, source in enumerate(self.sources)}
        self.doc_of_chunk = np.fromiter(
            (position[chunk.source] for chunk in engine.index.chunks),
            dtype=np.int64,
            count=len(engine.index.chunks),
        )
        self.documents = BM25Scorer.build(tokenize_many(doc.text for doc in documents))

    @staticmethod
    def _above_floor(
        scorer: BM25Scorer, terms: tuple[str, ...], weights: tuple[float, ...]
    ) -> np.ndarray:
        scores = scorer.get_scores(terms, weights)
        floor = sum(
            w * idf * scorer.delta
            for t, w in zip(terms, weights)
            if (idf := scorer.idf_of(t)) is not None
        )
        return np.maximum(scores - floor, 0.0)

    def rank(self, question: str, depth: int = DEPTH) -> list[str]:
        """Document ids, best first, up to ``depth`` of them."""
        query = self.engine.query(question)
        chunk_scores = self._above_floor(self.engine.index.scorer, query.terms, query.weights)
        best = np.zeros(len(self.sources))
        np.maximum.at(best, self.doc_of_chunk, chunk_scores)
        whole = self._above_floor(self.documents, query.terms, query.weights)
        mix = np.zeros(len(self.sources))
        if best.max() > 0:
            mix += CHUNK_SHARE * best / best.max()
        if whole.max() > 0:
            mix += (1 - CHUNK_SHARE) * whole / whole.max()
        vectors = self.engine.index.vectors
        if vectors is not None:
            mix = self._fused(mix, vectors.similarities(vectors.embed_question(query.text)))
        candidates = np.flatnonzero(mix > 0)
        # ties go to the document that comes first in the corpus
        order = np.lexsort((candidates, -mix[candidates]))[:depth]
        return [self.sources[i] for i in candidates[order]]


    def _fused(self, mix: np.ndarray, sims: np.ndarray) -> np.ndarray:
        """The BM25 mix and each document's best chunk similarity, each min-max
        normalised over the documents, weighed as the engine weighs passages."""
        semantic = np.full(len(self.sources), -1.0)
        np.maximum.at(semantic, self.doc_of_chunk, sims.astype(np.float64))
        weight = self.engine.config.semantic_weight
        return weight * _minmax(mix) + (1 - weight) * _minmax(semantic)


def _minmax(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


@dataclass
class QueryScore:
    id: str
    question: str
    scores: dict[str, float]
    latency_ms: float
    ranked: list[str] = field(default_factory=list)


def run_beir(
    ranker: DocumentRanker,
    dataset: BeirDataset,
    track: Callable[[Iterable[tuple[str, str]]], Iterable[tuple[str, str]]] = lambda x: x,
) -> list[QueryScore]:
    """Rank documents for every judged query and score it. A query with no searchable
    word (only stopwords) ranks nothing and scores 0 on every metric, as trec_eval -c
    counts judged queries that are missing from the run."""
    results = []
    for qid, text in track(dataset.judged_queries()):
        start = time.perf_counter()
        try:
            ranked = ranker.rank(text)
        except QuestionError:
            ranked = []
        elapsed = (time.perf_counter() - start) * 1000
        qrels = dataset.qrels[qid]
        scores = {
            "ndcg@10": ndcg_at_k(ranked, qrels, 10),
            "recall@100": recall_at_k(ranked, qrels, 100),
            "mrr@10": mrr_at_k(ranked, qrels, 10),
            "map@100": average_precision_at_k(ranked, qrels, 100),
        }
        results.append(QueryScore(qid, text, scores, elapsed, ranked[:10]))
    return results


def beir_metrics(results: list[QueryScore]) -> dict[str, float]:
    """Each metric's mean over the judged queries."""
    return {name: mean([r.scores[name] for r in results]) for name in METRICS}
