"""``docqa report``: the questions the bot left unanswered or that were rated 👎, grouped
by shared terms with their message links, and exported as a question set docqa eval reads."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.discord.report import Group, Unanswered, collect, format_report, group, question_set_yaml
from bot.evaluation.questions import load_questions

LINK = "https://discord.com/channels/1/2/"


def _abstained(question: str, n: int, user: str = "u1", day: int = 4, docs: str = "docs") -> dict[str, Any]:
    return {
        "time": f"2025-03-{day:02}T05:06:07+00:00", "via": "mention", "question": question,
        "answer": "", "coverage": 0.2, "closest": [], "user": user, "link": f"{LINK}{n}", "docs": docs,
    }


def _vote(vote: str, question: str, n: int, user: str = "u1", day: int = 5) -> dict[str, Any]:
    return {
        "time": f"2025-03-{day:02}T05:06:07+00:00", "vote": vote, "question": question,
        "answer": "Back up the database before upgrading. [1]", "abstained": False,
        "citations": ["guide.md:7-8"], "user": user, "link": f"{LINK}{n}", "docs": "docs",
    }


ABSTENTIONS = [
    _abstained("How do I install offline?", 1),
    _abstained("Can I install without admin rights?", 2, user="u2"),
    _abstained("How do I install offline?", 3, day=6),  # the same person again: once, latest
    _abstained("What does the upgrade cost?", 4),
]
VOTES = [
    _vote("down", "Why upgrade the database?", 10),
    _vote("up", "Why upgrade the database?", 10),  # changed their mind: not a 👎 any more
    _vote("down", "Does the upgrade keep my backups?", 11),
    _vote("down", "Does the upgrade keep my backups?", 11, user="u2"),  # one entry per answer
    _vote("up", "How big is the installer?", 12),
]


def test_collect_keeps_one_entry_per_question_and_answer() -> None:
    items = collect(ABSTENTIONS, VOTES)
    assert [(i.kind, i.question, i.link[-2:]) for i in items] == [
        ("abstained", "Can I install without admin rights?", "/2"),
        ("abstained", "What does the upgrade cost?", "/4"),
        ("down", "Does the upgrade keep my backups?", "11"),
        ("abstained", "How do I install offline?", "/3"),
    ]
    since = datetime(2025, 3, 5, tzinfo=timezone.utc)
    assert [i.link[-2:] for i in collect(ABSTENTIONS, VOTES, since=since)] == ["11", "/3"]
    other = [_abstained("Where is the manual?", 9, docs="other")]
    assert [i.question for i in collect(ABSTENTIONS + other, [], docs="other")] == ["Where is the manual?"]


def test_questions_are_grouped_by_shared_terms() -> None:
    groups = group(collect(ABSTENTIONS, VOTES))
    assert [(g.terms, [i.link[-2:] for i in g.items]) for g in groups] == [
        (("instal",), ["/2", "/3"]),
        (("upgrad",), ["/4", "11"]),
    ]
    lonely = group([Unanswered("abstained", "t", "Where is the manual?", terms=("manual",))])
    assert [(g.terms, len(g.items)) for g in lonely] == [((), 1)]


def test_the_report_text() -> None:
    groups = group(collect(ABSTENTIONS, VOTES))
    assert format_report(groups, ["a.jsonl", "f.jsonl"]) == (
        "4 questions to review (3 not answered, 1 rated 👎) from a.jsonl and f.jsonl\n"
        "\n"
        "instal (2)\n"
        "  2025-03-04  not answered  Can I install without admin rights?\n"
        f"      {LINK}2\n"
        "  2025-03-06  not answered  How do I install offline?\n"
        f"      {LINK}3\n"
        "\n"
        "upgrad (2)\n"
        "  2025-03-04  not answered  What does the upgrade cost?\n"
        f"      {LINK}4\n"
        "  2025-03-05  rated 👎      Does the upgrade keep my backups?\n"
        f"      {LINK}11"
    )


def test_the_export_is_a_question_set_docqa_eval_reads(tmp_path: Path) -> None:
    groups = group(collect(ABSTENTIONS, VOTES))
    text = question_set_yaml(groups)
    assert text.splitlines()[3:11] == [
        "",
        "# --- instal",
        f"# 2025-03-04 no answer · {LINK}2",
        "- id: install-without-admin-rights",
        "  question: Can I install without admin rights?",
        "  unanswerable: true",
        "  tags:",
        "  - review",
    ]
    path = tmp_path / "review.yaml"
    path.write_text(text, encoding="utf-8")
    questions = load_questions(path)  # the format docqa eval validates
    assert [(q.id, q.question, q.unanswerable, q.tags) for q in questions] == [
        ("install-without-admin-rights", "Can I install without admin rights?", True, ("review", "abstained")),
        ("install-offline", "How do I install offline?", True, ("review", "abstained")),
        ("upgrade-cost", "What does the upgrade cost?", True, ("review", "abstained")),
        ("upgrade-keep-backups", "Does the upgrade keep my backups?", True, ("review", "thumbs-down")),
    ]
    assert "# the bot answered: Back up the database before upgrading. [1]" in text


def test_odd_questions_still_make_valid_yaml(tmp_path: Path) -> None:
    odd = [
        Unanswered("abstained", "2025-03-04", 'What is "x: y" # not a comment\nreally?', terms=("x",)),
        Unanswered("abstained", "2025-03-04", "- [a] {b}: & * ! | > ' % @ `", terms=("x",)),
        Unanswered("abstained", "2025-03-04", "the of and", terms=()),
        Unanswered("abstained", "2025-03-04", "the of and?", terms=()),
    ]
    path = tmp_path / "odd.yaml"
    path.write_text(question_set_yaml([Group(("x",), odd)]), encoding="utf-8")
    assert [(q.id, q.question) for q in load_questions(path)] == [
        ("x-comment-really", 'What is "x: y" # not a comment really?'),  # "y" is a stopword
        ("b", "- [a] {b}: & * ! | > ' % @ `"),
        ("question", "the of and"),
        ("question-2", "the of and?"),
    ]


def test_docqa_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    monkeypatch.setenv("DOCQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCQA_DISCORD_FEEDBACK_LOG", str(tmp_path / "data" / "feedback.jsonl"))
    assert main(["report"]) == 0
    assert "nothing to report: neither" in capsys.readouterr().err
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "abstained.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in ABSTENTIONS), encoding="utf-8"
    )
    (tmp_path / "data" / "feedback.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in VOTES), encoding="utf-8"
    )
    out_yaml = tmp_path / "review.yaml"
    assert main(["report", "--yaml", str(out_yaml)]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("4 questions to review (3 not answered, 1 rated 👎) from ")
    assert out.err == f"docqa: wrote 4 questions to {out_yaml}; review them, then docqa eval {out_yaml}\n"
    assert len(load_questions(out_yaml)) == 4
    assert main(["report", "--docs", "elsewhere"]) == 0
    assert capsys.readouterr().out.startswith("0 questions to review")
