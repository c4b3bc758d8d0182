from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEED_FILE, SEEDS

from bot.cli import main


def test_ask_prints_the_answer_then_cited_passages(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "Who sued OpenAI?", "--docs", str(SEEDS), "-k", "1"]) == 0
    out = capsys.readouterr().out
    assert out == (
        "Elon Musk, a co-founder of OpenAI, has sued the company, accusing it of betraying its "
        "original mission. [1]\n"
        "\n"
        f"[1] {SEED_FILE}:11-14\n"
        "    This has sparked criticism, with some users preferring cheaper alternatives like "
        "DeepSeek.\n"
        "    Investors are pressuring OpenAI to shift toward a for-profit model, which has led "
        "to legal battles. Elon Musk, a co-founder of OpenAI, has sued the company, accusing it "
        "of betraying its original mission. He even offered to buy OpenAI for $97.4 billion, but "
        "CEO Sam Altman rejected the offer.\n"
        "    Microsoft’s next steps remain unclear, but its actions suggest that it is preparing "
        "for an AI future with or without OpenAI.\n"
        "    📌Source : Windows Central\n"
    )


def test_ask_json_is_one_object_of_the_documented_shape(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["ask", "When was Microsoft founded?", "--docs", str(SEEDS), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["question", "answer", "abstained", "passages"]
    assert data["question"] == "When was Microsoft founded?"
    assert data["abstained"] is True
    assert data["answer"] == "The documents do not answer this question."
    assert [p["n"] for p in data["passages"]] == [1, 2, 3, 4, 5]
    first = data["passages"][0]
    assert list(first) == ["n", "source", "start_line", "end_line", "heading", "score", "text"]
    assert (first["source"], first["start_line"], first["end_line"], first["heading"]) == (
        SEED_FILE, 1, 6, None,
    )
    lines = (SEEDS / SEED_FILE).read_text(encoding="utf-8").split("\n")
    assert first["text"] == "\n".join(lines[0:6])


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
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["abstained"] is False
