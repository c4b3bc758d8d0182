from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SEED_FILE, SEEDS

from bot.settings import load_settings
from bot.terminal.repl import COMMANDS, Repl, help_text
from index.retrieval import Engine


def _run(engine: Engine, lines: list[str | type[BaseException]]) -> str:
    """Drive a REPL with scripted input lines (an exception class is raised instead)."""
    feed: Iterator[str | type[BaseException]] = iter(lines)

    def read(prompt: str) -> str:
        item = next(feed, EOFError)
        if isinstance(item, type):
            raise item
        return item

    out = io.StringIO()
    repl = Repl(engine, load_settings(docs_dir=SEEDS, k=2), read=read, out=out, color=False)
    assert repl.run() == 0
    return out.getvalue()


def test_question_then_followup_then_reset(seeds_engine: Engine) -> None:
    out = _run(
        seeds_engine,
        ["What did Elon Musk offer for OpenAI?", "and who rejected it?", ":reset", "how much was that?"],
    )
    blocks = out.split("\n")
    assert blocks[0] == (
        f"docqa: 1 document, 5 chunks from {SEEDS}. Ask a question; :help for commands, "
        ":quit to leave."
    )
    rejected = (
        "He even offered to buy OpenAI for $97.4 billion, but CEO Sam Altman rejected the "
        "offer. [1]"
    )
    assert f"\n{rejected}\n" in out  # the follow-up's whole answer
    assert "Conversation cleared: the next question starts afresh." in out
    # after :reset a question with no words of its own has nothing to lean on
    assert out.endswith("! the question has no searchable words (only stopwords or punctuation): "
                        "ask with the words the documents would use\n\n")


def test_k_open_explain_and_sources(seeds_engine: Engine) -> None:
    out = _run(seeds_engine, [":k 1", "who sued openai", ":open 1", ":explain 1", ":sources"])
    assert "Showing 1 passages per answer." in out
    assert out.count(f"[1] {SEED_FILE}:11-14") == 3  # answer, :open, :explain
    assert "[2]" not in out
    opened = out[out.index("\n[1] 000", out.index("[1] 000") + 1) :]
    assert opened.startswith(
        f"\n[1] {SEED_FILE}:11-14\n"
        "   9 | Some experts predict that Microsoft will eventually stop using OpenAI’s AI models."
    )
    assert "\n> 11 | OpenAI also plans to increase the cost" in opened
    assert "\n> 14 | 📌Source : Windows Central\n" in opened  # context lines around the passage
    assert "  su " in out and "  openai " in out and "  total " in out
    assert f"{SEED_FILE}  5 chunks\n1 document, 5 chunks" in out


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        (":k zero", "! usage: :k N, with N from 1 to 100"),
        (":open 1", "! no passages yet: ask a question first"),
        (":explain 3", "! no passages yet: ask a question first"),
        (":frobnicate", "! unknown command :frobnicate: :help lists the commands"),
        ("", None),
        ("the of?", "! the question has no searchable words"),
        ("x" * 3000, "! the question is 3,000 characters long"),
    ],
)
def test_bad_input_gets_a_line_and_the_session_goes_on(
    seeds_engine: Engine, line: str, reply: str | None
) -> None:
    out = _run(seeds_engine, [line, "who sued openai"])
    if reply:
        assert reply in out
    assert "has sued the company" in out  # still answering afterwards


def test_open_out_of_range(seeds_engine: Engine) -> None:
    out = _run(seeds_engine, ["who sued openai", ":open 9"])
    assert "! usage: :open N, with N from 1 to 2" in out


def test_ctrl_c_cancels_the_line_and_ctrl_d_or_quit_exits(seeds_engine: Engine) -> None:
    out = _run(seeds_engine, [KeyboardInterrupt, "who sued openai", ":quit", "never read"])
    assert "has sued the company" in out
    assert _run(seeds_engine, [EOFError]).endswith("\n\n")


def test_help_lists_every_command() -> None:
    text = help_text()
    for command, description in COMMANDS.items():
        assert f"{command}" in text and description in text


def test_changed_documents_are_swapped_in_between_questions(tmp_path: Path) -> None:
    from index.chunking import ChunkingConfig
    from index.live import LiveIndex

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The turbine spins at 300 rpm.\n")
    live = LiveIndex(docs, tmp_path / "data", ChunkingConfig(), interval=0.0)
    lines = iter(["how fast does the turbine spin", "CHANGE", "how fast does the turbine spin"])

    def read(prompt: str) -> str:
        line = next(lines, None)
        if line is None:
            raise EOFError
        if line == "CHANGE":
            (docs / "a.txt").write_text("The turbine spins at 4500 rpm since the upgrade.\n")
            return ""
        return line

    out = io.StringIO()
    settings = load_settings(docs_dir=docs)
    Repl(live.current, settings, read=read, out=out, color=False, live=live).run()
    text = out.getvalue()
    assert "The turbine spins at 300 rpm. [1]" in text
    assert "(documents changed: updated the saved index (" in text
    assert text.index("(documents changed") < text.index("The turbine spins at 4500 rpm since the upgrade. [1]")
