"""Settings: where .env and the folders are found, misspelled names, messages without
pydantic's noise, and a setting of one adapter that cannot break another. Run through the
real entry point (``bot.cli.main``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SEEDS

from bot.cli import main
from bot.settings import load_settings


def _ask(*extra: str) -> int:
    return main(["ask", "who sued openai", "--json", *extra])


def test_misspelled_setting_in_the_environment_names_the_closest(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCQA_CHUNKSIZE", "300")
    assert _ask("--docs", str(SEEDS)) == 0
    assert capsys.readouterr().err == (
        "docqa: unknown setting DOCQA_CHUNKSIZE in the environment is ignored: "
        "did you mean DOCQA_CHUNK_SIZE?\n"
    )


def test_misspelled_setting_in_dotenv_names_the_closest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = Path.cwd() / ".env"
    env.write_text(f"DOCQA_ABSTAIN_TRESHOLD=0.99\nDOCQA_DOCS_DIR={SEEDS}\nDOCQA_NONSENSE=1\n")
    assert _ask() == 0
    assert capsys.readouterr().err == (
        f"docqa: unknown setting DOCQA_ABSTAIN_TRESHOLD in {env} is ignored: "
        "did you mean DOCQA_ABSTAIN_THRESHOLD?\n"
        f"docqa: unknown setting DOCQA_NONSENSE in {env} is ignored: "
        "see .env.example for the names\n"
    )


def test_log_level_in_any_case(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCQA_LOG_LEVEL", "info")
    assert _ask("--docs", str(SEEDS)) == 0
    assert capsys.readouterr().err.startswith("docqa: built the index: 1 document, 4 chunks in ")


def test_a_bad_discord_setting_does_not_stop_docqa_ask(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCQA_DISCORD_DMS", "maybe")
    monkeypatch.setenv("DOCQA_DISCORD_CHANNELS", "123, x")
    assert _ask("--docs", str(SEEDS)) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["abstained"] is False
    assert captured.err == (
        "docqa: DOCQA_DISCORD_CHANNELS (entry 2): Input should be a valid integer, unable to "
        "parse string as an integer (ignored: only docqa discord reads it)\n"
        "docqa: DOCQA_DISCORD_DMS: Input should be a valid boolean, unable to interpret input "
        "(ignored: only docqa discord reads it)\n"
    )
    # the command that reads them stops on them, with the same words
    assert main(["discord", "--invite-url"]) == 2
    assert capsys.readouterr().err == (
        "docqa: invalid setting: DOCQA_DISCORD_CHANNELS (entry 2): Input should be a valid "
        "integer, unable to parse string as an integer; DOCQA_DISCORD_DMS: Input should be a "
        "valid boolean, unable to interpret input\n"
    )


def test_a_check_of_two_settings_reads_without_pydantic_noise(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCQA_CHUNK_OVERLAP", "900")
    assert _ask("--docs", str(SEEDS)) == 2
    assert capsys.readouterr().err == (
        "docqa: invalid setting: DOCQA_CHUNK_OVERLAP (900) must be smaller than "
        "DOCQA_CHUNK_SIZE (800)\n"
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with a .env that names its documents folder relatively."""
    root = tmp_path / "project"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.txt").write_text("The turbine spins at 300 rpm.\n")
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".env").write_text("DOCQA_DOCS_DIR=docs\nDOCQA_K=1\n")
    return root


def test_dotenv_is_found_from_a_subfolder_and_read_from_its_own_folder(
    capsys: pytest.CaptureFixture[str], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "sub" / "deeper")
    assert main(["ask", "how fast does the turbine spin", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["answer"], [p["source"] for p in data["passages"]]) == (
        "The turbine spins at 300 rpm. [1]", ["a.txt"],
    )
    settings = load_settings()
    assert (settings.docs_dir, settings.k) == (project / "docs", 1)


def test_flags_and_environment_are_read_from_the_current_folder(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "sub")
    assert load_settings(docs_dir=Path("here")).docs_dir == Path("here")
    monkeypatch.setenv("DOCQA_DOCS_DIR", "there")
    assert load_settings().docs_dir == Path("there")


def test_the_saved_index_goes_to_the_user_cache_not_the_current_folder(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    assert _ask("--docs", str(SEEDS)) == 0
    assert not (Path.cwd() / ".docqa").exists()
    assert [p.name.split("-")[0] for p in (cache / "docqa" / "indexes").iterdir()] == ["seeds"]
    assert load_settings().data_dir == cache / "docqa"


def test_a_data_folder_inside_the_documents_is_refused_unless_hidden(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The turbine spins at 300 rpm.\n")
    monkeypatch.setenv("DOCQA_DATA_DIR", str(docs / "index"))
    assert _ask("--docs", str(docs)) == 2
    assert capsys.readouterr().err == (
        f"docqa: invalid setting: DOCQA_DATA_DIR ({docs / 'index'}) is inside the documents "
        f"folder {docs}, so the saved index would be read as documents: move it out, or give "
        "it a name that starts with a dot (such as .docqa), which docqa passes over\n"
    )
    assert not (docs / "index").exists()
    monkeypatch.setenv("DOCQA_DATA_DIR", str(docs / ".docqa"))
    monkeypatch.setenv("DOCQA_LOG_LEVEL", "INFO")
    for _ in range(2):  # the second start loads it: the index's own files are not documents
        assert _ask("--docs", str(docs)) == 0
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[1] for line in lines] == [
        " built the index", " loaded the saved index (up to date)"
    ]


def test_env_example_lists_every_setting_with_its_default() -> None:
    from conftest import ROOT

    from bot.settings import Settings

    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    named = {line.split("=", 1)[0] for line in example.splitlines() if line.startswith("DOCQA_")}
    assert named == {f"DOCQA_{name.upper()}" for name in Settings.model_fields}
    (Path.cwd() / ".env").write_text(example, encoding="utf-8")
    from_example = load_settings()
    (Path.cwd() / ".env").unlink()
    assert from_example.warnings == []
    # an empty token reads as "" rather than None; docqa discord treats both as unset
    unset = {"discord_token"}
    assert from_example.model_dump(exclude=unset) == load_settings().model_dump(exclude=unset)
