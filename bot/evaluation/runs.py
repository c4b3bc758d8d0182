"""Running a question set: ask every question, grade each answer into a ``QuestionResult``,
and turn the results into metrics. Showing them is ``bot.evaluation.report``'s job."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from bot.evaluation.metrics import contains_any, first_hit_rank, mean, percentile, ratio
from bot.evaluation.questions import EvalQuestion
from index.citations import DocumentCache, verify_citation
from index.errors import QuestionError
from index.models import Answer
from index.retrieval import Engine

T = TypeVar("T")

# Outcomes of one question; the first of each pair is the right decision.
CORRECT, WRONG, MISSED = "correct", "wrong", "missed"  # answerable questions
ABSTAINED, ANSWERED = "abstained", "answered"  # unanswerable questions
PASSING = frozenset({CORRECT, ABSTAINED})


class CitationCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    n: int
    source: str
    start_line: int
    end_line: int
    page: int | None = None
    valid: bool


class QuestionResult(BaseModel):
    """How the bot did on one question (one element of ``--json``'s ``questions``)."""

    model_config = ConfigDict(frozen=True)

    id: str
    question: str
    tags: tuple[str, ...] = ()
    unanswerable: bool
    expected: tuple[str, ...]
    sources: tuple[str, ...] = ()
    answer: str
    abstained: bool
    outcome: str
    passed: bool
    coverage: float
    passage_rank: int | None = None
    source_rank: int | None = None
    citations: tuple[CitationCheck, ...] = ()
    latency_ms: float
    error: str | None = None


@dataclass(frozen=True)
class Metric:
    """A metric's value and how it was counted (``30/32``), for the table."""

    name: str
    value: float
    detail: str = ""


def _outcome(question: EvalQuestion, answer: Answer) -> str:
    if question.unanswerable:
        return ABSTAINED if answer.abstained else ANSWERED
    if answer.abstained:
        return MISSED
    return CORRECT if contains_any(answer.text, question.answers) else WRONG


def grade(
    question: EvalQuestion,
    answer: Answer,
    latency_ms: float,
    citations: Sequence[CitationCheck] = (),
) -> QuestionResult:
    """One question's result from the bot's answer."""
    outcome = _outcome(question, answer)
    texts = [p.text for p in answer.passages]
    passage_rank = first_hit_rank(texts, question.answers) if question.answers else None
    wanted = {s.strip().removeprefix("./") for s in question.sources}
    source_rank = next(
        (n for n, p in enumerate(answer.passages, start=1) if p.source in wanted), None
    )
    return QuestionResult(
        id=question.id,
        question=question.question,
        tags=question.tags,
        unanswerable=question.unanswerable,
        expected=question.answers,
        sources=question.sources,
        answer=answer.text,
        abstained=answer.abstained,
        outcome=outcome,
        passed=outcome in PASSING,
        coverage=answer.coverage,
        passage_rank=passage_rank,
        source_rank=source_rank,
        citations=tuple(citations),
        latency_ms=latency_ms,
    )


def _unusable(question: EvalQuestion, message: str) -> QuestionResult:
    """A question the engine refuses (no searchable word): the bot cannot answer it, so
    it counts as an abstention."""
    refused = Answer(question=question.question, text=message, abstained=True)
    return grade(question, refused, latency_ms=0.0).model_copy(update={"error": message})


def untracked(items: Iterable[T]) -> Iterable[T]:
    return items


def run_questions(
    engine: Engine,
    questions: Sequence[EvalQuestion],
    k: int | None = None,
    check_citations: bool = True,
    track: Callable[[Iterable[EvalQuestion]], Iterable[EvalQuestion]] = untracked,
) -> list[QuestionResult]:
    """Ask every question and grade the answer.

    The latency is that of ``engine.retrieve`` alone (tokenizing, scoring and selecting
    the top passages); the answer then comes from ``engine.ask``, which retrieves the same
    passages again, so composing the answer and checking citations stay out of it.
    """
    cache: DocumentCache = {}
    results = []
    for question in track(questions):
        try:
            start = time.perf_counter()
            engine.retrieve(question.question, k)
            latency_ms = (time.perf_counter() - start) * 1000
            answer = engine.ask(question.question, k)
        except QuestionError as exc:
            results.append(_unusable(question, str(exc)))
            continue
        checks = []
        if check_citations:
            checks = [
                CitationCheck(
                    n=n,
                    source=p.source,
                    start_line=p.start_line,
                    end_line=p.end_line,
                    page=p.page,
                    valid=verify_citation(engine.index.root, p, cache),
                )
                for n, p in enumerate(answer.passages, start=1)
            ]
        results.append(grade(question, answer, latency_ms, checks))
    return results


def metric_names(k: int) -> list[str]:
    """Every metric a question-set run can report, in table order."""
    return [
        "answer_accuracy",
        f"passage_hit@{k}",
        f"source_hit@{k}",
        "mrr",
        "abstain_precision",
        "abstain_recall",
        "citation_validity",
    ]


def summarize(results: Sequence[QuestionResult], k: int) -> list[Metric]:
    """The question-set metrics. One that has nothing to count (no unanswerable question,
    no question naming sources, nothing abstained) is left out rather than shown as 0."""
    answerable = [r for r in results if not r.unanswerable]
    with_sources = [r for r in answerable if r.sources]
    abstained = [r for r in results if r.abstained]
    unanswerable = [r for r in results if r.unanswerable]
    right_abstentions = sum(1 for r in abstained if r.unanswerable)
    citations = [c for r in results for c in r.citations]

    counted: list[tuple[str, int, int]] = [
        ("answer_accuracy", sum(r.outcome == CORRECT for r in answerable), len(answerable)),
        (f"passage_hit@{k}", sum(r.passage_rank is not None for r in answerable), len(answerable)),
        (
            f"source_hit@{k}",
            sum(r.source_rank is not None for r in with_sources),
            len(with_sources),
        ),
    ]
    metrics = [
        Metric(name, value, f"{num}/{den}")
        for name, num, den in counted
        if (value := ratio(num, den)) is not None
    ]
    if answerable:
        reciprocal = [1 / r.passage_rank if r.passage_rank else 0.0 for r in answerable]
        metrics.append(Metric("mrr", mean(reciprocal), f"over {len(answerable)}"))
    for name, num, den in (
        ("abstain_precision", right_abstentions, len(abstained)),
        ("abstain_recall", right_abstentions, len(unanswerable)),
        ("citation_validity", sum(c.valid for c in citations), len(citations)),
    ):
        value = ratio(num, den)
        if value is not None:
            metrics.append(Metric(name, value, f"{num}/{den}"))
    return metrics


def timing(index_build_s: float, latencies_ms: Sequence[float]) -> dict[str, float]:
    return {
        "index_build_s": index_build_s,
        "query_p50_ms": percentile(latencies_ms, 50),
        "query_p95_ms": percentile(latencies_ms, 95),
    }
