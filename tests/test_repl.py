from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED_FILE, SEEDS

from bot.settings import load_settings
from bot.terminal.repl import COMMANDS, Repl, help_text
from index.loaders import SUPPORTED
from index.retrieval import Engine


def _reader(lines: list[str | type[BaseException]]) -> Callable[[str], str]:
    """Scripted input lines (an exception class is raised instead); then Ctrl-D."""
    feed: Iterator[str | type[BaseException]] = iter(lines)

    def read(prompt: str) -> str:
        item = next(feed, EOFError)
        if isinstance(item, type):
            raise item
        return item

    return read


def _run(engine: Engine, lines: list[str | type[BaseException]], **kw: Any) -> str:
    """Drive a REPL with scripted input lines."""
    out = io.StringIO()
    settings = kw.pop("settings", None) or load_settings(docs_dir=SEEDS, k=2)
    repl = Repl(engine, settings, read=_reader(lines), out=out, color=kw.pop("color", False), **kw)
    assert repl.run() == 0
    return out.getvalue()


def test_question_then_followup_then_reset(seeds_engine: Engine) -> None:
    out = _run(
        seeds_engine,
        ["What did Elon Musk offer for OpenAI?", "and who rejected it?", ":reset", "how much was that?"],
    )
    blocks = out.split("\n")
    assert blocks[0] == (
        f"docqa: 1 document, 5 chunks from {SEEDS}; index in {load_settings().data_dir}. "
        "Ask a question; :help for commands, :quit to leave."
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


def test_a_new_subject_starts_a_new_conversation(seeds_engine: Engine) -> None:
    lines = [
        "What did Elon Musk offer for OpenAI?",
        "cloud provider",  # its own subject: starts afresh
        "and what did it invest?",  # leans on the cloud question
        "???",  # no words: an error, never the last answer again
    ]
    out = _run(seeds_engine, lines)
    # "cloud provider" gets the answer it gets asked alone (with Musk's offer mixed in at
    # half weight it would get another), and its follow-up leans on it, not on Musk
    alone = seeds_engine.ask("cloud provider").text
    assert alone.startswith("Microsoft and OpenAI had a strong relationship")
    assert f"\n{alone}\n" in out
    followup = seeds_engine.ask("and what did it invest?", history=("cloud provider",))
    assert followup.followup and f"\n{followup.text}\n" in out
    assert out.rstrip().endswith("! the question has no searchable words (only stopwords or "
                                 "punctuation): ask with the words the documents would use")


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
        (":k ²", "! usage: :k N, with N from 1 to 100"),
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


@pytest.mark.parametrize("line", [":open 9", ":open ²", ":explain ²", ":explain 0", ":open x"])
def test_passage_number_out_of_range(seeds_engine: Engine, line: str) -> None:
    out = _run(seeds_engine, ["who sued openai", line])
    command = line.split()[0]
    assert out.endswith(f"! usage: {command} N, with N from 1 to 2\n\n")


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


WHO_SUED_AT_80 = f"""\
Elon Musk, a co-founder of OpenAI, has sued the company, accusing it of
betraying its original mission. [1] He even offered to buy OpenAI for $97.4
billion, but CEO Sam Altman rejected the offer. [1]

[1] {SEED_FILE}:11-14
    This has sparked criticism, with some users preferring cheaper alternatives
    like DeepSeek.
    Investors are pressuring OpenAI to shift toward a for-profit model, which
    has led to legal battles. Elon Musk, a co-founder of OpenAI, has sued the
    company, accusing it of betraying its original mission. He even offered to
    buy OpenAI for $97.4 billion, but CEO Sam Altman rejected the offer.
    Microsoft’s next steps remain unclear, but its actions suggest that it is
    preparing for an AI future with or without OpenAI.
    📌Source : Windows Central

Also found: [2] 8-10, [3] 6-8, [4] 1-6, [5] 9-11 of {SEED_FILE}
(:open N shows one)
"""


def test_answers_wrap_to_the_terminal_and_show_their_own_passages(
    seeds_engine: Engine,
) -> None:
    settings = load_settings(docs_dir=SEEDS)  # k=5, as a user gets it
    out = _run(seeds_engine, ["who sued openai"], settings=settings, width=80)
    answer = out[out.index("Elon Musk") :]  # after the start line
    assert answer == WHO_SUED_AT_80 + "\n"
    assert max(len(line) for line in out.splitlines()) <= 80


def test_an_abstention_shows_the_closest_passage_then_lists_the_others(
    seeds_engine: Engine,
) -> None:
    settings = load_settings(docs_dir=SEEDS, k=3)
    out = _run(seeds_engine, ["When was Microsoft founded?"], settings=settings, width=60)
    answer = out[out.index("The documents") :]
    assert answer.startswith("The documents do not answer this question.\nClosest passage:\n\n[1] ")
    assert answer.endswith(
        f"\n\nAlso found: [2] 8-10, [3] 6-8 of {SEED_FILE}\n(:open N shows one)\n\n"
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal_unless_no_color(
    seeds_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def session() -> str:
        out = _Terminal()
        settings = load_settings(docs_dir=SEEDS)
        Repl(seeds_engine, settings, read=_reader(["who sued openai"]), out=out).run()
        return out.getvalue()

    assert "\x1b[1m\x1b[33mopenai\x1b[0m" in session().lower()
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in session()


@pytest.mark.parametrize("word", ["quit", "exit", "QUIT", "  exit  ", ":q"])
def test_quit_and_exit_leave(seeds_engine: Engine, word: str) -> None:
    out = _run(seeds_engine, [word, "who sued openai"])
    assert out.count("\n") == 1  # only the start line: nothing was searched
    assert "has sued" not in out


def test_open_marks_the_cited_span_not_whole_lines(seeds_engine: Engine) -> None:
    out = _run(seeds_engine, ["who sued openai", ":open 1"], width=80)
    opened = out[out.rindex(f"[1] {SEED_FILE}:11-14") :]
    assert opened == f"""\
[1] {SEED_FILE}:11-14
   9 | Some experts predict that Microsoft will eventually stop using OpenAI’s
     | AI models. Others even suggest that Microsoft might acquire OpenAI in the
     | next few years.
  10 | Meanwhile, OpenAI is struggling with financial pressure. Recent reports
     | claimed it could face losses of $5 billion in a year. However, key
     | investors like Microsoft, NVIDIA, and SoftBank raised $6.6 billion to
     | support the company, pushing its market value to $157 billion.
> 11 | OpenAI also plans to increase the cost of its advanced AI models to
     | $20,000 per month. »This has sparked criticism, with some users
     | preferring cheaper alternatives like DeepSeek.
> 12 | Investors are pressuring OpenAI to shift toward a for-profit model, which
     | has led to legal battles. Elon Musk, a co-founder of OpenAI, has sued the
     | company, accusing it of betraying its original mission. He even offered
     | to buy OpenAI for $97.4 billion, but CEO Sam Altman rejected the offer.
> 13 | Microsoft’s next steps remain unclear, but its actions suggest that it is
     | preparing for an AI future with or without OpenAI.
> 14 | 📌Source : Windows Central

"""


def test_open_dims_what_is_not_cited_on_a_colour_terminal(seeds_engine: Engine) -> None:
    out = _run(seeds_engine, ["who sued openai", ":open 1"], color=True)
    line_11 = next(line for line in out.splitlines() if line.startswith("> 11 |"))
    assert line_11 == (
        "> 11 | \x1b[2mOpenAI also plans to increase the cost of its advanced AI models to "
        "$20,000 per month. \x1b[0mThis has sparked criticism, with some users preferring "
        "cheaper alternatives like DeepSeek."
    )


def _live_docs(tmp_path: Path, files: dict[str, str]) -> tuple[Path, Any]:
    from index.chunking import ChunkingConfig
    from index.live import LiveIndex

    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in files.items():
        (docs / name).write_text(text)
    past = 1_600_000_000
    for name in files:
        os.utime(docs / name, (past, past))
    return docs, LiveIndex(docs, tmp_path / "data", ChunkingConfig(), interval=0.0)


TURBINE = "The turbine spins at 300 rpm.\n"
PUMP = "The pump moves 40 litres a minute.\n"


def _session(docs: Path, live: Any, lines: list[Any]) -> str:
    """A REPL over a live index; a callable in ``lines`` is run (to change the files)
    and reads as an empty line."""
    feed = iter(lines)

    def read(prompt: str) -> str:
        item = next(feed, None)
        if item is None:
            raise EOFError
        if callable(item):
            item()
            return ""
        return item

    out = io.StringIO()
    settings = load_settings(docs_dir=docs)
    Repl(live.current, settings, read=read, out=out, color=False, live=live).run()
    return out.getvalue()


def test_open_never_reads_outside_the_documents_folder(tmp_path: Path) -> None:
    docs, live = _live_docs(tmp_path, {"a.txt": TURBINE})
    secret = tmp_path / "secret.txt"
    secret.write_text("The turbine password is hunter2.\n")
    out = io.StringIO()
    repl = Repl(live.current, load_settings(docs_dir=docs), read=_reader([]), out=out, color=False)
    repl.handle("how fast does the turbine spin")
    repl.handle(":open 1")
    assert out.getvalue().endswith("[1] a.txt:1-1\n> 1 | The turbine spins at 300 rpm.\n")
    # after indexing, the cited file becomes a link to a secret outside the folder
    (docs / "a.txt").unlink()
    (docs / "a.txt").symlink_to(secret)
    repl.handle(":open 1")
    assert "hunter2" not in out.getvalue()
    assert out.getvalue().endswith("[1] a.txt:1-1\n(the file cannot be read any more)\n")


def test_open_does_not_hang_on_a_named_pipe(tmp_path: Path) -> None:
    docs, live = _live_docs(tmp_path, {"a.txt": TURBINE})
    out = io.StringIO()
    repl = Repl(live.current, load_settings(docs_dir=docs), read=_reader([]), out=out, color=False)
    assert repl.handle("how fast does the turbine spin")
    (docs / "a.txt").unlink()
    os.mkfifo(docs / "a.txt")
    done = threading.Thread(target=repl.handle, args=(":open 1",), daemon=True)
    done.start()
    done.join(timeout=10)
    assert not done.is_alive(), ":open blocked on a named pipe"
    assert out.getvalue().endswith("[1] a.txt:1-1\n(the file cannot be read any more)\n")


def test_open_warns_when_the_file_changed_since_it_was_indexed(tmp_path: Path) -> None:
    docs, live = _live_docs(tmp_path, {"a.txt": TURBINE})
    out = io.StringIO()
    repl = Repl(live.current, load_settings(docs_dir=docs), read=_reader([]), out=out, color=False)
    repl.handle("how fast does the turbine spin")
    (docs / "a.txt").write_text("The pump was replaced last year.\n")
    repl.handle(":open 1")
    assert out.getvalue().endswith(
        "[1] a.txt:1-1\n"
        "! a.txt changed since it was indexed: these lines no longer hold the cited text "
        "(ask again for a fresh answer)\n"
        "  1 | The pump was replaced last year.\n"
    )


def test_sources_follows_the_folder_without_a_question(tmp_path: Path) -> None:
    docs, live = _live_docs(tmp_path, {"a.txt": TURBINE, "b.txt": PUMP})
    out = _session(docs, live, [":sources", lambda: (docs / "b.txt").unlink(), ":sources"])
    start, rest = out.split("\n", 1)
    assert rest == (
        "a.txt  1 chunk\nb.txt  1 chunk\n2 documents, 2 chunks\n"
        + rest[rest.index("(documents changed: updated the saved index (1 removed)") :]
    )
    assert rest.endswith(" s)\na.txt  1 chunk\n1 document, 1 chunk\n\n")


def test_explain_speaks_of_the_last_answer_after_a_swap_on_a_refused_question(
    tmp_path: Path,
) -> None:
    docs, live = _live_docs(tmp_path, {"a.txt": TURBINE})

    def change() -> None:
        # a new first file: chunk 0 of the new index is another passage
        (docs / "0.txt").write_text("The blades of a turbine are long. " * 5 + "\n")

    refused = "x" * 3000  # too long: refused whatever the conversation
    out = _session(docs, live, ["how fast does the turbine spin", change, refused, ":explain 1"])
    assert "(documents changed: " in out
    assert "! the question is 3,000 characters long" in out
    explained = out[out.index("[1] a.txt:1-1  score ") :]
    header, *rows = explained.strip().splitlines()
    score = header.rpartition(" ")[2]
    assert rows[-1].split() == ["total", score]  # the rows still sum to that passage's score


def test_start_line_and_sources_name_skipped_files(tmp_path: Path) -> None:
    docs, live = _live_docs(tmp_path, {"a.txt": TURBINE, "notes.odt": "PK"})
    out = _session(docs, live, [":sources"])
    assert out.startswith(
        f"docqa: 1 document, 1 chunk from {docs} (1 file skipped: :sources lists them); "
        f"index in {load_settings().data_dir}."
    )
    assert out.endswith(
        "a.txt  1 chunk\n1 document, 1 chunk\n1 file skipped:\n"
        f"  notes.odt: unsupported type (docqa reads {SUPPORTED})\n\n"
    )


def test_document_text_and_names_cannot_drive_the_terminal(tmp_path: Path) -> None:
    docs, live = _live_docs(tmp_path, {
        "evil\x1b]0;title\x07.txt": "The turbine spins at 300 rpm.\x1b[2J Keep clear of it.\n",
    })  # fmt: skip
    out = _session(docs, live, ["how fast does the turbine spin", ":open 1", ":sources"])
    assert "\x1b" not in out and "\x07" not in out
    assert "[1] evil\\x1b]0;title\\x07.txt:1-1\n" in out
    assert "    The turbine spins at 300 rpm.\\x1b[2J Keep clear of it.\n" in out


def test_bytes_that_are_not_utf8_do_not_end_the_session() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONIO", "LC_", "LANG"))}
    env.update(LC_ALL="C.UTF-8", PYTHONUTF8="0")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "repl", "--docs", str(SEEDS)],
        input=b"musk \xff\nwho sued openai\n", capture_output=True, env=env, check=False,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""
    out = done.stdout.decode("utf-8")
    assert out.count("Elon Musk, a co-founder of OpenAI, has sued the company") == 4


def test_open_after_the_file_got_shorter(tmp_path: Path) -> None:
    filler = "".join(f"Line {n} says nothing of note at all.\n" for n in range(40))
    docs, live = _live_docs(tmp_path, {"a.txt": filler + TURBINE})
    out = io.StringIO()
    repl = Repl(live.current, load_settings(docs_dir=docs), read=_reader([]), out=out, color=False)
    repl.handle("how fast does the turbine spin")
    (cited,) = repl.last.answer.passages if repl.last else ()
    assert cited.start_line > 1 and cited.end_line == 41
    (docs / "a.txt").write_text("Gone.\n")
    repl.handle(":open 1")
    assert out.getvalue().endswith(
        f"[1] {cited.citation}\n"
        "! a.txt changed since it was indexed: these lines no longer hold the cited text "
        "(ask again for a fresh answer)\n"
        "(the file no longer has these lines)\n"
    )


def test_sources_and_help_wrap_too(tmp_path: Path) -> None:
    docs, live = _live_docs(tmp_path, {"a.txt": TURBINE, "notes.odt": "PK"})
    out = io.StringIO()
    settings = load_settings(docs_dir=docs)
    repl = Repl(live.current, settings, read=_reader([]), out=out, color=False, width=50)
    repl.handle(":sources")
    repl.handle(":help")
    assert out.getvalue().startswith(
        "a.txt  1 chunk\n1 document, 1 chunk\n1 file skipped:\n"
        "  notes.odt: unsupported type (docqa reads .adoc,\n  .asciidoc, "
    )
    assert max(len(line) for line in out.getvalue().splitlines()) <= 50
