"""``docqa eval``: run a question set (or a BEIR collection) and score the bot.

    docqa eval QUESTIONS [--docs DIR] [-k N] [--json] [--report FILE.md]
                         [--compare PREVIOUS.json] [--fail-under METRIC=VALUE ...]
    docqa eval --beir DIR
    docqa eval --calibrate QUESTIONS

Running is separate from showing: ``run_questions`` grades every question into a
``QuestionResult``, ``summarize`` turns results into metrics, and the functions of
``bot.eval_report`` format them. The index is always built fresh here (never loaded from a
saved index) so ``index_build_s`` measures a build and results never come from a stale one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from bot.beir import METRICS as BEIR_METRICS
from bot.beir import DatasetError, beir_documents, beir_metrics, load_beir, run_beir
from bot.eval_report import (
    compare_results,
    format_calibration,
    format_changes,
    format_failures,
    format_metrics,
    markdown_report,
)
from bot.cli import add_docs_option, positive_int
from bot.metrics import contains_any, first_hit_rank, mean, percentile, ratio
from bot.questions import EvalQuestion, QuestionSetError, load_questions
from bot.settings import Settings, load_settings
from index.citations import DocumentCache, verify_citation
from index.errors import QuestionError
from index.models import Answer, Document
from index.retrieval import Engine, EngineConfig, Index, build_index

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


def _untracked(items: Iterable[T]) -> Iterable[T]:
    return items


def run_questions(
    engine: Engine,
    questions: Sequence[EvalQuestion],
    k: int | None = None,
    check_citations: bool = True,
    track: Callable[[Iterable[EvalQuestion]], Iterable[EvalQuestion]] = _untracked,
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


# --- calibration ---------------------------------------------------------------------


@dataclass(frozen=True)
class SweepRow:
    """How one abstention threshold does on a question set."""

    threshold: float
    answered_right: int  # answerable, answered, with an expected string
    abstained_right: int  # unanswerable, abstained
    answered_wrong: int  # answered without an expected string
    missed: int  # answerable but abstained
    answered_unanswerable: int

    @property
    def right(self) -> int:
        return self.answered_right + self.abstained_right


def thresholds(step: float = 0.05) -> list[float]:
    count = round(1 / step)
    return [round(i * step, 4) for i in range(count + 1)]


def sweep_row(threshold: float, results: Sequence[QuestionResult]) -> SweepRow:
    outcomes = [r.outcome for r in results]
    return SweepRow(
        threshold=threshold,
        answered_right=outcomes.count(CORRECT),
        abstained_right=outcomes.count(ABSTAINED),
        answered_wrong=outcomes.count(WRONG),
        missed=outcomes.count(MISSED),
        answered_unanswerable=outcomes.count(ANSWERED),
    )


def sweep(
    index: Index,
    config: EngineConfig,
    questions: Sequence[EvalQuestion],
    values: Sequence[float],
    track: Callable[[Iterable[float]], Iterable[float]] = _untracked,
) -> dict[float, list[QuestionResult]]:
    """Every question's result at every threshold. The engine runs once per value rather
    than re-deriving decisions from one run, so the sweep stays true to the engine's rule
    whatever that rule becomes."""
    runs: dict[float, list[QuestionResult]] = {}
    for value in track(values):
        engine = Engine(index, config.model_copy(update={"abstain_threshold": value}))
        runs[value] = run_questions(engine, questions, check_citations=False)
    return runs


def choose_threshold(rows: Sequence[SweepRow]) -> SweepRow:
    """The threshold with the most right decisions. Among equals, the middle of the
    longest run of neighbouring best values: it sits furthest from the values where the
    count drops, so it is the least fitted to the exact questions at hand (and for an even
    run, the lower middle: answer rather than abstain when the evidence cannot tell)."""
    if not rows:
        raise ValueError("no thresholds to choose from")
    best = max(r.right for r in rows)
    runs: list[list[SweepRow]] = []
    previous_best = False
    for row in rows:
        is_best = row.right == best
        if is_best and previous_best:
            runs[-1].append(row)
        elif is_best:
            runs.append([row])
        previous_best = is_best
    longest = max(runs, key=len)  # max keeps the first (lowest) of equally long runs
    return longest[(len(longest) - 1) // 2]


@dataclass(frozen=True)
class HeldOut:
    """A threshold chosen on one half of the questions and scored on the other."""

    fit_on: str
    threshold: float
    right: int
    total: int
    best_possible: int


def cross_check(
    runs: dict[float, list[QuestionResult]], values: Sequence[float]
) -> list[HeldOut]:
    """Two-fold check against overfitting: choose on the odd items and score on the even
    ones, then the other way round."""
    checks = []
    for name, fit, held in (("odd items", 0, 1), ("even items", 1, 0)):
        fit_rows = [sweep_row(v, runs[v][fit::2]) for v in values]
        held_rows = [sweep_row(v, runs[v][held::2]) for v in values]
        chosen = choose_threshold(fit_rows).threshold
        scored = next(r for r in held_rows if r.threshold == chosen)
        checks.append(
            HeldOut(
                fit_on=name,
                threshold=chosen,
                right=scored.right,
                total=len(runs[values[0]][held::2]),
                best_possible=max(r.right for r in held_rows),
            )
        )
    return checks


# --- the command -----------------------------------------------------------------------


def _bound(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not METRIC=VALUE (for example answer_accuracy=0.9)"
        ) from None


def register(subparsers: Any) -> None:
    """Add ``docqa eval`` to the CLI's subcommands."""
    parser = subparsers.add_parser(
        "eval",
        help=cmd_eval.__doc__,
        description=cmd_eval.__doc__,
        epilog="Question set format: see the README's Evaluation section. Exit status: 0 ok, 1 a "
        "--fail-under bound is not met, 2 bad input.",
    )
    parser.add_argument(
        "questions", nargs="?", type=Path, metavar="QUESTIONS",
        help="question set (.yaml list or .jsonl), e.g. evals/seeds.yaml",
    )  # fmt: skip
    add_docs_option(parser)
    parser.add_argument(
        "-k", type=positive_int, metavar="N", help="passages per question (default: DOCQA_K)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument(
        "--report", type=Path, metavar="FILE.md", help="also write a Markdown report"
    )
    parser.add_argument(
        "--compare", type=Path, metavar="PREVIOUS.json",
        help="list the questions whose outcome changed since an earlier --json output",
    )  # fmt: skip
    parser.add_argument(
        "--fail-under", type=_bound, nargs="+", action="extend", default=[],
        metavar="METRIC=VALUE", help="exit 1 when a metric is below VALUE",
    )  # fmt: skip
    parser.add_argument(
        "--beir", type=Path, metavar="DIR",
        help="evaluate retrieval on a BEIR folder (corpus.jsonl, queries.jsonl, qrels.tsv)",
    )  # fmt: skip
    parser.add_argument(
        "--calibrate", action="store_true",
        help="sweep the abstention threshold over QUESTIONS and print the best value",
    )  # fmt: skip
    parser.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    """Score the bot on a question set or a BEIR collection, or calibrate abstention."""
    if (args.questions is None) == (args.beir is None):
        return _usage("give either a question set (QUESTIONS) or --beir DIR, not both or neither")
    if args.calibrate and args.questions is None:
        return _usage("--calibrate needs a question set: docqa eval --calibrate QUESTIONS")
    # say so rather than silently ignore an option the mode has no use for
    mode = "--beir" if args.beir is not None else "--calibrate" if args.calibrate else ""
    not_for = {"--beir": ("--compare",), "--calibrate": ("--compare", "--report", "--fail-under")}
    for flag in not_for.get(mode, ()):
        if getattr(args, flag.removeprefix("--").replace("-", "_")):
            return _usage(f"{flag} does not apply to {mode}")
    try:
        settings = load_settings(docs_dir=args.docs, k=args.k)
        if args.beir is not None:
            return _cmd_beir(args, settings)
        questions = load_questions(args.questions)
        if args.calibrate:
            return _cmd_calibrate(args, settings, questions)
        return _cmd_questions(args, settings, questions)
    except (QuestionSetError, DatasetError) as exc:
        return _usage(str(exc))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _usage(message: str) -> int:
    print(f"docqa eval: {message}", file=sys.stderr)
    return 2


def _track(desc: str, unit: str) -> Callable[[Iterable[T]], Iterable[T]]:
    """A progress bar on stderr when it is a terminal, else nothing."""
    if not sys.stderr.isatty():
        return _untracked

    def track(items: Iterable[T]) -> Iterable[T]:
        from tqdm import tqdm

        return tqdm(items, desc=desc, unit=unit, leave=False, file=sys.stderr)

    return track


def _build(settings: Settings, documents: Sequence[Document] | None = None) -> tuple[Engine, float]:
    start = time.perf_counter()
    index = build_index(
        settings.docs_dir, settings.chunking(), documents=documents, track=_track("indexing", "doc")
    )
    return Engine(index, settings.engine()), time.perf_counter() - start


def _check_bounds(
    bounds: Sequence[tuple[str, float]], known: Sequence[str]
) -> str | None:
    unknown = [name for name, _ in bounds if name not in known]
    if unknown:
        return f"unknown metric {unknown[0]!r} in --fail-under: choose from {', '.join(known)}"
    return None


def _gate(bounds: Sequence[tuple[str, float]], metrics: dict[str, float]) -> int:
    """Exit status 1, with a line naming each metric, when any is below its bound."""
    failed = 0
    for name, bound in bounds:
        value = metrics.get(name)
        if value is None:
            print(f"docqa eval: {name} cannot be computed on this run (nothing to count), "
                  f"so its bound {bound:g} is not met", file=sys.stderr)  # fmt: skip
            failed += 1
        elif value < bound:
            print(f"docqa eval: {name} is {value:.3f}, below its bound {bound:g}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _cmd_questions(
    args: argparse.Namespace, settings: Settings, questions: list[EvalQuestion]
) -> int:
    k = settings.k
    problem = _check_bounds(args.fail_under, metric_names(k))
    if problem:
        return _usage(problem)
    previous = _read_previous(args.compare) if args.compare else None
    engine, build_s = _build(settings)
    results = run_questions(engine, questions, k, track=_track("questions", "q"))
    metrics = summarize(results, k)
    values = {m.name: m.value for m in metrics}
    times = timing(build_s, [r.latency_ms for r in results if r.error is None])
    changes = compare_results(previous, results) if previous is not None else None
    index = engine.index
    title = (
        f"docqa eval {args.questions} — {_count(len(results), 'question')} "
        f"({sum(not r.unanswerable for r in results)} answerable), "
        f"{_count(len(index.sources()), 'document')}, {_count(len(index.chunks), 'chunk')}, "
        f"k={k}"
    )
    prev_metrics = previous.get("metrics") if previous else None
    if args.json:
        payload = {
            "metrics": values,
            "timing": times,
            "questions": [r.model_dump(mode="json") for r in results],
        }
        print(json.dumps(payload, ensure_ascii=False))
    else:
        parts = [title, format_metrics(metrics, times, prev_metrics), format_failures(results)]
        if changes is not None:
            parts.append(format_changes(changes, str(args.compare)))
        print("\n\n".join(parts))
    if args.report:
        args.report.write_text(
            markdown_report(title, metrics, times, results, changes, prev_metrics), encoding="utf-8"
        )
    return _gate(args.fail_under, values)


def _read_previous(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QuestionSetError(f"--compare file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QuestionSetError(
            f"--compare file {path} is not the output of docqa eval --json: {exc}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise QuestionSetError(
            f"--compare file {path} has no `questions` list: give the output of docqa eval --json"
        )
    return data


def _cmd_beir(args: argparse.Namespace, settings: Settings) -> int:
    problem = _check_bounds(args.fail_under, BEIR_METRICS)
    if problem:
        return _usage(problem)
    dataset = load_beir(args.beir)
    documents = beir_documents(dataset)
    engine, build_s = _build(settings.model_copy(update={"docs_dir": args.beir}), documents)
    results = run_beir(engine, dataset, track=_track("queries", "q"))
    values = beir_metrics(results)
    times = timing(build_s, [r.latency_ms for r in results])
    metrics = [Metric(name, values[name], f"over {len(results)}") for name in BEIR_METRICS]
    title = (
        f"docqa eval --beir {args.beir} — {len(results)} judged queries, "
        f"{len(documents)} documents, {len(engine.index.chunks)} chunks "
        f"(chunk size {settings.chunk_size}, overlap {settings.chunk_overlap})"
    )
    if args.json:
        payload = {
            "metrics": values,
            "timing": times,
            "questions": [
                {"id": r.id, "question": r.question, **r.scores, "latency_ms": r.latency_ms,
                 "top10": r.ranked}
                for r in results
            ],
        }  # fmt: skip
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(f"{title}\n\n{format_metrics(metrics, times)}")
    if args.report:
        args.report.write_text(markdown_report(title, metrics, times), encoding="utf-8")
    return _gate(args.fail_under, values)


def _cmd_calibrate(
    args: argparse.Namespace, settings: Settings, questions: list[EvalQuestion]
) -> int:
    engine, _ = _build(settings)
    values = thresholds()
    runs = sweep(engine.index, engine.config, questions, values, track=_track("thresholds", "t"))
    rows = [sweep_row(v, runs[v]) for v in values]
    chosen = choose_threshold(rows)
    checks = cross_check(runs, values) if len(questions) >= 4 else []
    if args.json:
        payload = {
            "chosen": chosen.threshold,
            "current": settings.abstain_threshold,
            "sweep": [{**vars(r), "right": r.right} for r in rows],
            "held_out": [vars(c) for c in checks],
        }
        print(json.dumps(payload))
    else:
        print(format_calibration(rows, chosen, settings.abstain_threshold, len(questions), checks))
    return 0
