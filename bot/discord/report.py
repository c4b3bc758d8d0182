"""``docqa report``: what the bot left unanswered, from its two logs.

The abstention log (questions it did not answer) and the 👎 votes of the feedback log
(deduplicated: one person's last vote on one answer counts once) become a list of
questions grouped by the terms they share, each with the link to its message, and, with
``--yaml``, a question set in ``docqa eval``'s format for whoever reviews them.

Pure functions over records; nothing here imports discord.py.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import yaml

from index.tokenize import tokenize

Kind = Literal["abstained", "down"]
KIND_COLUMN = {"abstained": "not answered", "down": "rated 👎    "}  # 12 columns each (👎 takes 2)


@dataclass(frozen=True)
class Unanswered:
    """One question the bot did not answer well."""

    kind: Kind
    time: str
    question: str
    link: str = ""
    answer: str = ""
    docs: str = ""
    terms: tuple[str, ...] = ()


@dataclass
class Group:
    """Questions that share ``terms`` (empty for the ones that share nothing)."""

    terms: tuple[str, ...]
    items: list[Unanswered] = field(default_factory=list)


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


def _since_ok(record: Mapping[str, Any], since: datetime | None) -> bool:
    if since is None:
        return True
    try:
        return datetime.fromisoformat(_text(record, "time")) >= since
    except ValueError:
        return False


def collect(
    abstentions: Iterable[Mapping[str, Any]],
    feedback: Iterable[Mapping[str, Any]],
    docs: str | None = None,
    since: datetime | None = None,
) -> list[Unanswered]:
    """The questions to review, oldest first: every abstention (one per person and
    question) and every answer whose voter's last vote on it was 👎."""
    found: dict[tuple[str, ...], Unanswered] = {}
    for record in abstentions:
        question = _text(record, "question").strip()
        if not question or not _since_ok(record, since):
            continue
        if docs is not None and _text(record, "docs") != docs:
            continue
        key = ("abstained", _text(record, "user"), " ".join(question.lower().split()))
        found.pop(key, None)  # the latest time and link win
        found[key] = Unanswered(
            "abstained", _text(record, "time"), question, _text(record, "link"),
            _text(record, "answer"), _text(record, "docs"), tuple(tokenize(question)),
        )
    votes: dict[tuple[str, str], Mapping[str, Any]] = {}
    for record in feedback:
        if not _since_ok(record, since):
            continue
        if docs is not None and _text(record, "docs") not in ("", docs):
            continue
        # a vote without a link (an older log) counts per question instead
        answer_key = _text(record, "link") or _text(record, "question")
        votes.pop((_text(record, "user"), answer_key), None)
        votes[(_text(record, "user"), answer_key)] = record
    downs: dict[str, Unanswered] = {}
    for (_, answer_key), record in votes.items():
        question = _text(record, "question").strip()
        if record.get("vote") != "down" or not question:
            continue
        downs.pop(answer_key, None)  # several 👎 on one answer: one entry
        downs[answer_key] = Unanswered(
            "down", _text(record, "time"), question, _text(record, "link"),
            _text(record, "answer"), _text(record, "docs"), tuple(tokenize(question)),
        )
    items = list(found.values()) + list(downs.values())
    return sorted(items, key=lambda item: item.time)


def group(items: Sequence[Unanswered]) -> list[Group]:
    """Questions grouped by shared terms: the term most questions share makes the first
    group, and so on while a term is shared by two or more questions not yet grouped;
    a group is labelled by the terms all its questions hold. The rest come last."""
    left = list(items)
    groups: list[Group] = []
    while True:
        counts = Counter(t for item in left for t in set(item.terms))
        shared = [(n, t) for t, n in counts.items() if n >= 2]
        if not shared:
            break
        _, term = min(shared, key=lambda nt: (-nt[0], nt[1]))
        members = [item for item in left if term in item.terms]
        common = set(members[0].terms).intersection(*(set(m.terms) for m in members[1:]))
        label = tuple(t for t in dict.fromkeys(members[0].terms) if t in common)
        groups.append(Group(label, members))
        left = [item for item in left if term not in item.terms]
    if left:
        groups.append(Group((), left))
    return groups


def format_report(groups: Sequence[Group], sources: Sequence[str]) -> str:
    """The report as text: a summary line, then each group and its questions."""
    items = [item for g in groups for item in g.items]
    kinds = Counter(item.kind for item in items)
    lines = [
        f"{len(items)} question{'s' if len(items) != 1 else ''} to review "
        f"({kinds['abstained']} not answered, {kinds['down']} rated 👎) from "
        + " and ".join(sources)
    ]
    for g in groups:
        title = ", ".join(g.terms) if g.terms else "sharing no terms with the others"
        lines += ["", f"{title} ({len(g.items)})"]
        for item in g.items:
            day = item.time[:10] or "?"
            lines.append(f"  {day}  {KIND_COLUMN[item.kind]}  {_one_line(item.question)}")
            if item.link:
                lines.append(f"      {item.link}")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _slug(question: str) -> str:
    """An id from the question's first five words that are search terms (no stopwords)."""
    words = [w for w in re.findall(r"[a-z0-9]+", question.lower()) if tokenize(w)]
    return "-".join(words[:5]) or "question"


def question_set_yaml(groups: Sequence[Group]) -> str:
    """A question set for ``docqa eval`` (README: "Writing a question set"). The bot
    cannot know the right answers, so each question is written as unanswerable, tagged
    ``review``, with a comment saying what the bot did and where: someone who finds the
    answer in the documents replaces ``unanswerable: true`` with ``answers: [...]``."""
    out = [
        "# Questions the bot did not answer well, from `docqa report --yaml`.",
        "# Each is marked unanswerable until someone reviews it: when the documents do",
        '# answer it, replace `unanswerable: true` with `answers: ["the short fact"]`.',
    ]
    seen_ids: Counter[str] = Counter()
    seen_questions: set[str] = set()
    for g in groups:
        label = ", ".join(g.terms) if g.terms else "no shared terms"
        out += ["", f"# --- {label}"]
        for item in g.items:
            key = " ".join(item.question.lower().split())
            if key in seen_questions:
                continue
            seen_questions.add(key)
            slug = _slug(item.question)
            seen_ids[slug] += 1
            qid = slug if seen_ids[slug] == 1 else f"{slug}-{seen_ids[slug]}"
            said = "no answer" if item.kind == "abstained" else "rated 👎"
            note = f"# {item.time[:10]} {said}"
            if item.link:
                note += f" · {item.link}"
            out.append(note)
            if item.kind == "down" and item.answer:
                out.append(f"# the bot answered: {_one_line(item.answer)[:300]}")
            entry = {
                "id": qid,
                "question": _one_line(item.question),
                "unanswerable": True,
                "tags": ["review", "abstained" if item.kind == "abstained" else "thumbs-down"],
            }
            out.append(
                yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=10_000).rstrip()
            )
    return "\n".join(out) + "\n"

