"""The quality gate: the shipped question set must keep its scores, so CI (which runs
pytest) fails on a change that makes the answers worse. It is the command

    docqa eval evals/seeds.yaml --fail-under answer_accuracy=0.9 passage_hit@5=0.95 \
        mrr=0.9 abstain_precision=0.75 abstain_recall=0.8 citation_validity=1

run with the shipped settings (no DOCQA_* variables, no .env). The bounds sit a question or
so below today's scores (0.944, 1, 1, 0.818, 0.9, 1 — see the README's Evaluation section): raise them
when the bot gets better, never lower them to let a change through without saying why.
"""

from __future__ import annotations

import pytest
from conftest import ROOT, SEEDS

from bot.cli import main

GATE = [
    "answer_accuracy=0.9",
    "passage_hit@5=0.95",
    "mrr=0.9",
    "abstain_precision=0.75",
    "abstain_recall=0.8",
    "citation_validity=1",
]


def test_seed_questions_pass_their_gate(capsys: pytest.CaptureFixture[str]) -> None:
    questions = str(ROOT / "evals" / "seeds.yaml")
    code = main(["eval", questions, "--docs", str(SEEDS), "--fail-under", *GATE])
    captured = capsys.readouterr()
    # on failure, show the table and failed questions, not only the exit status
    assert code == 0, captured.out + captured.err
    assert captured.err == ""
