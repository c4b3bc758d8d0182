"""A passage whose file changed since it was indexed is marked where it is shown."""

from __future__ import annotations

from bot.discord.format import STALE_MARK, _citation_of, field_name
from bot.terminal.format import format_answer
from index.models import Answer, Passage

PASSAGE = Passage(
    chunk_id=0, source="guide.md", start_line=3, end_line=4, heading="Install",
    text="Run the installer.", score=1.0,
)


def test_the_terminal_marks_a_changed_file() -> None:
    answer = Answer(question="q", text="Run the installer. [1]", abstained=False,
                    passages=(PASSAGE.model_copy(update={"stale": True}), PASSAGE))
    assert format_answer(answer).split("\n") == [
        "Run the installer. [1]",
        "",
        "[1] guide.md:3-4 — Install  (changed since indexed)",
        "    Run the installer.",
        "",
        "[2] guide.md:3-4 — Install",
        "    Run the installer.",
    ]


def test_discord_marks_a_changed_file_and_feedback_keeps_the_citation() -> None:
    name = field_name(1, PASSAGE.model_copy(update={"stale": True}))
    assert name == "[1] guide.md:3-4 — Install" + STALE_MARK
    assert _citation_of(name) == "guide.md:3-4"
    assert field_name(1, PASSAGE) == "[1] guide.md:3-4 — Install"
