"""Calibrating abstention: sweep the threshold over a question set, choose the value with
the most right decisions, and check the choice on held-out halves."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bot.evaluation.questions import EvalQuestion
from bot.evaluation.runs import (
    ABSTAINED,
    ANSWERED,
    CORRECT,
    MISSED,
    WRONG,
    QuestionResult,
    run_questions,
    untracked,
)
from index.retrieval import Engine, EngineConfig, Index


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
    track: Callable[[Iterable[float]], Iterable[float]] = untracked,
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
