"""The terminal's pure formatters."""

from __future__ import annotations

from bot.terminal.format import BOLD, RESET, YELLOW, highlight


def test_highlight_marks_each_word_once() -> None:
    # an identifier gives its whole name and its parts, all over one span of text
    text = "[tool.poetry.group.dev.dependencies] needs dev"
    marked = highlight(text, ["tool.poetry.group.dev.dependencies", "dev", "poetri"], True)
    assert marked == (
        f"[{BOLD}{YELLOW}tool.poetry.group.dev.dependencies{RESET}] needs "
        f"{BOLD}{YELLOW}dev{RESET}"
    )
    assert highlight(text, ["dev"], False) == text
