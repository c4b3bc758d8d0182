"""Pure formatting for ``docqa eval``: terminal tables, the Markdown report, --compare.

Nothing here runs the engine; every function turns results into text, so the output can
be tested on hand-made results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.printable import printable

if TYPE_CHECKING:  # only for annotations: evaluation imports this module
    from bot.evaluation.calibration import HeldOut, SweepRow
    from bot.evaluation.runs import Metric, QuestionResult

# kept in step with bot.evaluation.runs' outcomes (the right decision of each kind)
_PASSING = {"correct", "abstained"}


def _cut(text: str, width: int) -> str:
    # escaped before it is measured, so a control character in a question, an id or a
    # document neither reaches the terminal nor shifts the columns
    text = printable(" ".join(text.split()), newlines=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)


def _timing_line(times: Mapping[str, float]) -> str:
    return (
        f"index build {times['index_build_s']:.3f} s · query p50 {times['query_p50_ms']:.2f} ms"
        f" · p95 {times['query_p95_ms']:.2f} ms"
    )


def _delta(name: str, value: float, previous: Mapping[str, Any] | None) -> str:
    if not previous or not isinstance(previous.get(name), (int, float)):
        return ""
    before = float(previous[name])
    return f"{before:.3f} ({value - before:+.3f})"


def format_metrics(
    metrics: Sequence[Metric],
    times: Mapping[str, float],
    previous: Mapping[str, Any] | None = None,
) -> str:
    """The metrics as a table (with the earlier values when comparing), then the timing."""
    header = ["metric", "value", "counted"] + (["before"] if previous else [])
    rows = [
        [m.name, f"{m.value:.3f}", m.detail]
        + ([_delta(m.name, m.value, previous)] if previous else [])
        for m in metrics
    ]
    return f"{_table(header, rows)}\n\n{_timing_line(times)}"


def _got(result: QuestionResult) -> str:
    if result.error:
        return f"(refused: {result.error})"
    if result.abstained:
        return f"(abstained; confidence {result.coverage:.0%})"
    return result.answer


def _expected(result: QuestionResult) -> str:
    return "(abstain)" if result.unanswerable else " | ".join(result.expected)


def format_failures(results: Sequence[QuestionResult], width: int = 60) -> str:
    """The questions the bot got wrong: id, outcome, question, expected, got."""
    failed = [r for r in results if not r.passed]
    if not failed:
        return f"All {len(results)} question{'' if len(results) == 1 else 's'} passed."
    rows = [
        [_cut(r.id, 30), r.outcome, _cut(r.question, 40), _cut(_expected(r), 24),
         _cut(_got(r), width)]
        for r in failed
    ]
    table = _table(["id", "outcome", "question", "expected", "got"], rows)
    return f"Failed questions ({len(failed)} of {len(results)}):\n{table}"


# --- --compare -----------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A question whose outcome differs from an earlier run (None: not in that run)."""

    id: str
    question: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        if self.before is None:
            return "new"
        if self.after is None:
            return "gone"
        if self.after in _PASSING and self.before not in _PASSING:
            return "fixed"
        if self.before in _PASSING and self.after not in _PASSING:
            return "broken"
        return "changed"


def compare_results(previous: Mapping[str, Any], results: Sequence[QuestionResult]) -> list[Change]:
    """Questions (matched by id) whose outcome changed against an earlier --json output."""
    before: dict[str, tuple[str, str | None]] = {}
    for item in previous.get("questions", []):
        if isinstance(item, dict) and "id" in item:
            before[str(item["id"])] = (str(item.get("question", "")), item.get("outcome"))
    changes = []
    for result in results:
        if result.id not in before:
            changes.append(Change(result.id, result.question, None, result.outcome))
            continue
        _, outcome = before.pop(result.id)
        if outcome != result.outcome:
            changes.append(Change(result.id, result.question, outcome, result.outcome))
    changes += [Change(i, q, outcome, None) for i, (q, outcome) in before.items()]
    return changes


def format_changes(changes: Sequence[Change], label: str) -> str:
    if not changes:
        return f"No question changed outcome against {label}."
    rows = [
        [c.kind, _cut(c.id, 30), _cut(c.question, 50), f"{c.before or '-'} → {c.after or '-'}"]
        for c in changes
    ]
    return f"Changed against {label} ({len(changes)}):\n" + _table(
        ["change", "id", "question", "outcome"], rows
    )


# --- Markdown --------------------------------------------------------------------------


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def markdown_report(
    title: str,
    metrics: Sequence[Metric],
    times: Mapping[str, float],
    results: Sequence[QuestionResult] | None = None,
    changes: Sequence[Change] | None = None,
    previous: Mapping[str, Any] | None = None,
) -> str:
    """The terminal output as Markdown, with whole questions and answers."""
    out = [f"# {_md(title)}", ""]
    out.append("| metric | value | counted |" + (" before |" if previous else ""))
    out.append("| --- | ---: | ---: |" + (" ---: |" if previous else ""))
    for m in metrics:
        extra = f" {_delta(m.name, m.value, previous)} |" if previous else ""
        out.append(f"| {m.name} | {m.value:.3f} | {m.detail} |{extra}")
    out += ["", _timing_line(times)]
    if results is not None:
        failed = [r for r in results if not r.passed]
        out += ["", f"## Failed questions ({len(failed)} of {len(results)})", ""]
        if failed:
            out.append("| id | outcome | question | expected | got |")
            out.append("| --- | --- | --- | --- | --- |")
            out += [
                f"| {_md(r.id)} | {r.outcome} | {_md(r.question)} | {_md(_expected(r))} "
                f"| {_md(_got(r))} |"
                for r in failed
            ]
        else:
            out.append("None.")
    if changes is not None:
        out += ["", f"## Changed outcomes ({len(changes)})", ""]
        out += [
            f"- **{c.kind}** `{_md(c.id)}` {_md(c.question)}: {c.before or '-'} → {c.after or '-'}"
            for c in changes
        ] or ["None."]
    return "\n".join(out) + "\n"


# --- calibration -----------------------------------------------------------------------


def format_calibration(
    rows: Sequence[SweepRow],
    chosen: SweepRow,
    current: float,
    n_questions: int,
    held_out: Sequence[HeldOut] = (),
    per_set: Mapping[str, SweepRow] | None = None,
    setting: str = "DOCQA_ABSTAIN_THRESHOLD",
) -> str:
    """The sweep table, the chosen threshold (and how each set does at it when there are
    several), the current setting's count and the held-out checks. ``setting`` names the
    threshold in force (the semantic layer has its own)."""
    header = ["threshold", "right", "answered ok", "abstained ok", "wrong answer",
              "missed", "answered unanswerable", ""]  # fmt: skip
    table_rows = [
        [f"{r.threshold:.2f}", str(r.right), str(r.answered_right), str(r.abstained_right),
         str(r.answered_wrong), str(r.missed), str(r.answered_unanswerable),
         "← best" if r is chosen else ""]
        for r in rows
    ]  # fmt: skip
    lines = [
        f"Abstention threshold sweep over {n_questions} questions",
        _table(header, table_rows),
        "",
        f"best: {chosen.threshold:.2f} ({chosen.right} of {n_questions} decisions right; "
        "ties go to the middle of the longest run of best values)",
    ]
    if per_set and len(per_set) > 1:
        for name, row in per_set.items():
            lines.append(
                f"  {name}: {row.right} right ({row.answered_right} answered ok, "
                f"{row.abstained_right} abstained ok, {row.answered_wrong} wrong, "
                f"{row.missed} missed, {row.answered_unanswerable} answered unanswerable)"
            )
    now = next((r for r in rows if abs(r.threshold - current) < 1e-9), None)
    if now is not None:
        lines.append(f"current {setting}={current:g}: {now.right} right")
    for check in held_out:
        other = "the other half" if check.fit_on.endswith("items") else "the set left out"
        lines.append(
            f"held out: chosen on {check.fit_on} → {check.threshold:.2f}, which gets "
            f"{check.right} of {check.total} right on {other} "
            f"(the best any threshold gets there: {check.best_possible})"
        )
    lines.append(f"set it with {setting}={chosen.threshold:g} in .env")
    return "\n".join(lines)
