"""Calibrating abstention: sweep the threshold over one or several question sets, choose
the value with the most right decisions over all of them, and check the choice on data
it was not chosen on (each set left out in turn, or the odd and even halves of one set)."""

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


def thresholds(step: float = 0.02) -> list[float]:
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


def at_threshold(result: QuestionResult, threshold: float) -> QuestionResult:
    """The result the engine gives at ``threshold``, from its result at threshold 0: the
    engine abstains exactly when the answer's confidence (``coverage``) is below the
    threshold, and the answer does not otherwise depend on it (tested against real runs)."""
    if result.abstained or result.coverage >= threshold:
        return result
    outcome = ABSTAINED if result.unanswerable else MISSED
    return result.model_copy(
        update={"abstained": True, "outcome": outcome, "passed": outcome == ABSTAINED}
    )


def sweep(
    index: Index,
    config: EngineConfig,
    questions: Sequence[EvalQuestion],
    values: Sequence[float],
    track: Callable[[Iterable[EvalQuestion]], Iterable[EvalQuestion]] = untracked,
) -> dict[float, list[QuestionResult]]:
    """Every question's result at every threshold: the questions are asked once, at
    threshold 0, and each threshold's decisions follow from the answers' confidence."""
    engine = Engine(index, config.model_copy(update={"abstain_threshold": 0.0}))
    base = run_questions(engine, questions, check_citations=False, track=track)
    return {value: [at_threshold(r, value) for r in base] for value in values}


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
    """A threshold chosen on some questions (``fit_on``) and scored on the others."""

    fit_on: str
    threshold: float
    right: int
    total: int
    best_possible: int


Fold = tuple[str, list[int], list[int]]  # label, positions to choose on, positions to score


def halves(n: int) -> list[Fold]:
    """Two folds of one question set: choose on the odd items and score on the even ones,
    then the other way round."""
    odd, even = list(range(0, n, 2)), list(range(1, n, 2))
    return [("odd items", odd, even), ("even items", even, odd)]


def leave_one_out(sizes: Sequence[tuple[str, int]]) -> list[Fold]:
    """One fold per question set (given as ``(name, size)`` in order): choose on all the
    others and score on it."""
    folds = []
    start = 0
    total = sum(n for _, n in sizes)
    for name, n in sizes:
        held = list(range(start, start + n))
        fit = [i for i in range(total) if not start <= i < start + n]
        folds.append((f"all but {name}", fit, held))
        start += n
    return folds


def cross_check(
    runs: dict[float, list[QuestionResult]], values: Sequence[float], folds: Sequence[Fold]
) -> list[HeldOut]:
    """For each fold, the threshold chosen on its ``fit`` questions and how it does on its
    held-out ones: a guard against a threshold fitted to the exact questions at hand."""
    checks = []
    for name, fit, held in folds:
        fit_rows = [sweep_row(v, [runs[v][i] for i in fit]) for v in values]
        held_rows = [sweep_row(v, [runs[v][i] for i in held]) for v in values]
        chosen = choose_threshold(fit_rows).threshold
        scored = next(r for r in held_rows if r.threshold == chosen)
        checks.append(
            HeldOut(
                fit_on=name,
                threshold=chosen,
                right=scored.right,
                total=len(held),
                best_possible=max(r.right for r in held_rows),
            )
        )
    return checks
