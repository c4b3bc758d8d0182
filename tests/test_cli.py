from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEED_FILE, SEEDS

from bot.cli import main
from index.loaders import SUPPORTED


def test_ask_prints_the_answer_then_cited_passages(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "Who sued OpenAI?", "--docs", str(SEEDS), "-k", "1"]) == 0
    out = capsys.readouterr().out
    # the sentence after the answer continues it ("He even offered ..."): it joins
    assert out == (
        "Elon Musk, a co-founder of OpenAI, has sued the company, accusing it of betraying its "
        "original mission. [1] He even offered to buy OpenAI for $97.4 billion, but CEO Sam "
        "Altman rejected the offer. [1]\n"
        "\n"
        f"[1] {SEED_FILE}:12-14\n"
        "    Elon Musk, a co-founder of OpenAI, has sued the company, accusing it of betraying "
        "its original mission. He even offered to buy OpenAI for $97.4 billion, but CEO Sam "
        "Altman rejected the offer.\n"
        "    Microsoft’s next steps remain unclear, but its actions suggest that it is preparing "
        "for an AI future with or without OpenAI.\n"
        "    📌Source : Windows Central\n"
    )


def test_ask_json_is_one_object_of_the_documented_shape(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["ask", "When was Microsoft founded?", "--docs", str(SEEDS), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["question", "answer", "abstained", "confidence", "passages"]
    assert data["question"] == "When was Microsoft founded?"
    assert data["abstained"] is True
    assert 0 < data["confidence"] < 0.3  # below the threshold it abstained at
    assert data["answer"] == "The documents do not answer this question."
    assert [p["n"] for p in data["passages"]] == [1, 2, 3, 4]  # the seed's every chunk
    first = data["passages"][0]
    assert list(first) == [
        "n", "source", "start_line", "end_line", "page", "heading", "score", "text"
    ]
    assert (first["source"], first["start_line"], first["end_line"], first["heading"]) == (
        SEED_FILE, 1, 7, None,
    )
    assert first["page"] is None  # not a PDF
    lines = (SEEDS / SEED_FILE).read_text(encoding="utf-8").split("\n")
    assert first["text"] == "\n".join(lines[0:7])


@pytest.mark.parametrize(
    ("argv", "message", "code"),
    [
        (["ask", ""], "docqa: the question is empty", 2),
        (["ask", "the of and?"], "docqa: the question has no searchable words", 2),
        (["ask", "x" * 5000], "docqa: the question is 5,000 characters long", 2),
        (["ask", "turbine", "--docs", "/nonexistent/folder"], "docqa: documents folder", 1),
    ],
)
def test_bad_input_exits_non_zero_with_a_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str, code: int
) -> None:
    if "--docs" not in argv:
        argv = [*argv, "--docs", str(SEEDS)]
    assert main(argv) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message)
    assert "Traceback" not in captured.err


def test_invalid_setting_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCQA_K", "lots")
    assert main(["ask", "who sued openai", "--docs", str(SEEDS)]) == 2
    assert capsys.readouterr().err == (
        "docqa: invalid setting: DOCQA_K: Input should be a valid integer, unable to parse "
        "string as an integer\n"
    )


def test_dotenv_file_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"DOCQA_DOCS_DIR={SEEDS}\nDOCQA_K=2\n")
    assert main(["ask", "who sued openai", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["passages"]) == 2


def test_skipped_files_are_reported_on_stderr(
    capsys: pytest.CaptureFixture[str], docs_dir: Path
) -> None:
    (docs_dir / "blob.txt").write_bytes(b"\x00\x01")
    assert main(["ask", "licence cost", "--docs", str(docs_dir), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["passages"][0]["source"] == "faq.html"
    assert captured.err == (
        "docqa: skipped blob.txt: binary or undecodable (not UTF-8, UTF-16 or Windows-1252 text)\n"
    )


def test_python_dash_m_bot_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "who sued openai", "--docs", str(SEEDS), "--json"],
        capture_output=True, text=True, cwd=Path.cwd(), check=False,  # not the repo's .env
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["abstained"] is False


def test_ask_json_gives_a_pdf_passage_its_page(
    capsys: pytest.CaptureFixture[str], docs_dir: Path
) -> None:
    assert main(["ask", "when are returns accepted", "--docs", str(docs_dir), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["passages"][0]
    # the lines are counted within the page, so a script needs the page to find them
    assert (first["source"], first["page"], first["start_line"], first["end_line"]) == (
        "manual.pdf", 2, 1, 2,
    )
    assert first["text"] == "Returns\nReturns are accepted within 30 days."


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"docqa {version('docqa')}\n"


def test_an_unquoted_question_is_all_its_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "who", "sued", "openai", "--docs", str(SEEDS), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["question"] == "who sued openai"
    assert data["answer"].startswith("Elon Musk, a co-founder of OpenAI, has sued the company")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-k", "101"], "argument -k: must be from 1 to 100 (got 101)"),
        (["-k", "0"], "argument -k: must be 1 or more"),
        (["-k", "²"], "argument -k: '²' is not a whole number"),
    ],
)
def test_a_bad_flag_is_blamed_on_the_flag(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["ask", "who sued openai", "--docs", str(SEEDS), *argv])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith(f"docqa ask: error: {message}\n")
    assert "DOCQA_K" not in err


def test_docs_that_is_a_file_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    readme = ROOT / "README.md"
    assert main(["ask", "who sued openai", "--docs", str(readme)]) == 1
    assert capsys.readouterr().err == (
        f"docqa: documents folder {readme} is a file, not a folder: point --docs (or "
        "DOCQA_DOCS_DIR) at the folder that holds your documents\n"
    )


def test_a_missing_relative_docs_folder_is_shown_where_it_was_looked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["ask", "who sued openai"]) == 1  # the default, seeds/, is not here
    err = capsys.readouterr().err
    where = Path.cwd() / "seeds"
    assert err.startswith(f"docqa: documents folder seeds ({where}) does not exist: ")


def _run_docqa(*argv: str | bytes, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """The installed entry point in a strict UTF-8 locale (not the C locale, where Python
    would escape bad bytes by itself)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONIO", "LC_", "LANG"))}
    env.update(LC_ALL="C.UTF-8", PYTHONUTF8="0")
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv], input=stdin, capture_output=True, env=env,
        cwd=Path.cwd(), check=False, timeout=60,
    )  # fmt: skip


def test_ask_with_bytes_that_are_not_utf8(capsys: pytest.CaptureFixture[str]) -> None:
    done = _run_docqa("ask", b"musk \xff", "--docs", str(SEEDS), "--json")
    assert done.returncode == 0, done.stderr.decode()
    data = json.loads(done.stdout)
    assert data["question"] == "musk \ufffd"
    assert data["abstained"] is False


@pytest.fixture
def hostile_docs(tmp_path: Path) -> Path:
    """Documents whose text and names hold terminal escape sequences."""
    root = tmp_path / "hostile"
    root.mkdir()
    (root / "turbine.txt").write_text(
        "The turbine spins at 300 rpm when the wind blows steadily across the plain. "
        "\x1b]0;pwned\x07\x1b[2JSee \x1b]8;;http://evil.example\x07the manual\x1b]8;;\x07 "
        "for the \x9b31mmaintenance schedule of the blades and the gearbox.\n",
        encoding="utf-8",
    )
    (root / "forged\ndocqa: built the index.txt").write_text("Nothing about engines.\n")
    (root / "evil\x1b[31m.odt").write_bytes(b"PK")
    return root


def test_ask_escapes_control_characters_from_documents_and_names(
    capsys: pytest.CaptureFixture[str], hostile_docs: Path
) -> None:
    assert main(["ask", "how fast does the turbine spin", "--docs", str(hostile_docs)]) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        "The turbine spins at 300 rpm when the wind blows steadily across the plain. [1]\n"
        "\n"
        "[1] turbine.txt:1-1\n"
        "    The turbine spins at 300 rpm when the wind blows steadily across the plain. "
        "\\x1b]0;pwned\\x07\\x1b[2JSee \\x1b]8;;http://evil.example\\x07the manual"
        "\\x1b]8;;\\x07 for the \\x9b31mmaintenance schedule of the blades and the gearbox.\n"
    )
    assert captured.err == (
        "docqa: skipped evil\\x1b[31m.odt: unsupported type (docqa reads "
        f"{SUPPORTED})\n"
    )
    assert main(["ask", "nothing about engines", "--docs", str(hostile_docs), "--json"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x9b" not in out and out.count("\n") == 1
    sources = [p["source"] for p in json.loads(out)["passages"]]
    assert sources[0] == "forged\\x0adocqa: built the index.txt"  # the loader's printable name
    assert main(["ask", "nothing about engines", "--docs", str(hostile_docs), "-k", "1"]) == 0
    assert "[1] forged\\x0adocqa: built the index.txt:1-1\n" in capsys.readouterr().out


def test_progress_bar_and_skip_lines_do_not_collide(
    capsys: pytest.CaptureFixture[str], docs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (docs_dir / "notes.odt").write_bytes(b"PK")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # as at a REPL's start
    assert main(["ask", "licence cost", "--docs", str(docs_dir), "-k", "1"]) == 0
    err = capsys.readouterr().err
    assert "indexing" in err  # the bar ran
    # what a terminal shows of each line is what follows its last carriage return
    shown = [line.rpartition("\r")[2] for line in err.split("\n")]
    assert f"docqa: skipped notes.odt: unsupported type (docqa reads {SUPPORTED})" in shown
    assert all("indexing" not in line for line in shown)  # the bar left no line behind


def test_invite_url_with_a_malformed_token_blames_the_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCQA_DISCORD_TOKEN", "not-a-token")
    assert main(["discord", "--invite-url"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "docqa: DOCQA_DISCORD_TOKEN is set but its first part does not hold an application id, "
        "so it is not a bot token: copy it again (your application → Bot → Reset Token), or "
        "set DOCQA_DISCORD_APP_ID (General Information → Application ID)\n"
    )
    assert "not-a-token" not in err


def test_ask_on_a_terminal_wraps_and_colours_unless_no_color(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["ask", "who sued openai", "--docs", str(SEEDS), "-k", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Elon Musk, a co-founder of OpenAI, has sued the company,\n"
        "accusing it of betraying its original mission. [1] He even\n"
        "offered to buy OpenAI for $97.4 billion, but CEO Sam Altman\n"
        "rejected the offer. [1]\n"
        "\n"
        f"[1] {SEED_FILE}:12-14\n"
        "    Elon Musk, a co-founder of OpenAI, has sued the company,\n"
        "    accusing it of betraying its original mission. He even\n"
    )
    assert "\x1b" not in out and max(len(line) for line in out.splitlines()) <= 60
    monkeypatch.delenv("NO_COLOR")
    assert main(["ask", "who sued openai", "--docs", str(SEEDS), "-k", "1"]) == 0
    assert "\x1b[1m\x1b[33msued\x1b[0m" in capsys.readouterr().out


def test_a_terminal_that_cannot_show_a_character_gets_an_escape() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONIO", "LC_", "LANG"))}
    env.update(PYTHONIOENCODING="latin-1")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "who sued openai", "--docs", str(SEEDS), "-k", "1"],
        capture_output=True, env=env, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode("latin-1")
    assert done.stdout.decode("latin-1").endswith("    \\U0001f4ccSource : Windows Central\n")


def test_ask_from_a_saved_index_imports_only_what_it_uses(tmp_path: Path) -> None:
    """The cold start of ``docqa ask``: no settings library pulling asyncio, no loader of a
    format the folder does not hold, no YAML, no Discord or evaluation code."""
    env = {**os.environ, "DOCQA_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    ask = [sys.executable, "-m", "bot", "ask", "who sued openai", "--docs", str(SEEDS)]
    subprocess.run(ask, env=env, cwd=tmp_path, check=True, capture_output=True)  # saves it
    unwanted = [
        "asyncio", "pydantic_settings", "yaml", "markdown_it", "docutils", "docx", "pypdfium2",
        "tqdm", "symspellpy", "discord", "bot.discord", "bot.evaluation", "index.loaders.pdf",
        "index.loaders.markdown", "index.loaders.html", "index.loaders.rst",
        "index.loaders.docx", "index.loaders.asciidoc", "index.loaders.mdx",
    ]
    probe = (
        "import runpy, sys\n"
        f"sys.argv = {ask[2:]!r}\n"
        "try:\n    runpy.run_module('bot', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print([m for m in {unwanted!r} if m in sys.modules], file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, check=True, capture_output=True,
        text=True,
    )  # fmt: skip
    assert "Elon Musk" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_ask_reads_the_settings_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.settings

    reads = []
    read_names = bot.settings._read_names
    monkeypatch.setattr(bot.settings, "_read_names", lambda f: reads.append(f) or read_names(f))
    assert main(["ask", "who sued openai", "--docs", str(SEEDS), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["abstained"] is False
    assert reads == [None]  # one read; no .env in the test's folder
