"""verify_citation: a passage's text must stand at the lines it cites in the file."""

from __future__ import annotations

from pathlib import Path

from conftest import SEED_FILE, SEEDS, make_pdf

from index.chunking import ChunkingConfig
from index.citations import cited_text, verify_citation
from index.loaders import text_document
from index.models import Passage
from index.retrieval import Engine, build_index


def _passage(source: str, start: int, end: int, text: str, page: int | None = None) -> Passage:
    return Passage(
        chunk_id=0, source=source, start_line=start, end_line=end, page=page, text=text, score=1.0
    )


def test_cited_text_is_the_lines_of_a_text_file() -> None:
    doc = text_document("a.txt", "one\ntwo two\nthree\nfour\n")
    assert cited_text(doc, 2, 3) == "two two\nthree\n"
    assert cited_text(doc, 4, 4) == "four\n"
    assert cited_text(doc, 9, 12) == ""


def test_every_seed_passage_verifies(seeds_engine: Engine) -> None:
    passages = seeds_engine.retrieve("OpenAI Microsoft billion", k=100)
    assert len(passages) == len(seeds_engine.index.chunks)
    cache: dict = {}
    assert [verify_citation(SEEDS, p, cache) for p in passages] == [True] * len(passages)
    assert list(cache) == [SEED_FILE]  # the file was loaded once


def test_wrong_lines_wrong_text_or_missing_file_fail() -> None:
    text = "Elon Musk, a co-founder of OpenAI, has sued the company"
    assert verify_citation(SEEDS, _passage(SEED_FILE, 12, 12, text))
    # whitespace is normalized: the passage may have been re-wrapped
    assert verify_citation(SEEDS, _passage(SEED_FILE, 12, 12, text.replace(" ", "\n  ")))
    assert not verify_citation(SEEDS, _passage(SEED_FILE, 11, 11, text))  # one line off
    assert not verify_citation(SEEDS, _passage(SEED_FILE, 12, 12, text + " twice"))
    assert not verify_citation(SEEDS, _passage("gone.txt", 12, 12, text))
    assert not verify_citation(SEEDS, _passage("../README.md", 1, 1, "docqa"))
    assert not verify_citation(SEEDS, _passage(SEED_FILE, 12, 12, "   "))


def test_a_changed_file_makes_its_citations_stale(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Alpha beta gamma.\nDelta epsilon zeta.\n", encoding="utf-8")
    engine = Engine(build_index(tmp_path, ChunkingConfig()))
    [passage] = engine.retrieve("delta", k=1)
    assert verify_citation(tmp_path, passage)
    path.write_text("New first line.\nAlpha beta gamma.\nDelta epsilon zeta.\n", encoding="utf-8")
    assert not verify_citation(tmp_path, passage)


def test_html_citations_use_the_extracted_text_of_those_lines(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        "<html><head><style>p {}</style></head><body>\n"
        "<h1>Rockets</h1>\n"
        "<p>Liquid fuel burns\n"
        "in the <b>chamber</b>.</p>\n"
        "<p>Solid fuel is simpler.</p>\n"
        "</body></html>\n",
        encoding="utf-8",
    )
    engine = Engine(build_index(tmp_path, ChunkingConfig(chunk_size=60, chunk_overlap=0)))
    passages = engine.retrieve("fuel", k=5)
    assert sorted((p.start_line, p.end_line) for p in passages) == [(2, 4), (5, 5)]
    assert all(verify_citation(tmp_path, p) for p in passages)
    # the text of line 5 is not at lines 2-3
    assert not verify_citation(tmp_path, _passage("page.html", 2, 3, "Solid fuel is simpler."))


def test_pdf_citations_check_the_page(tmp_path: Path) -> None:
    (tmp_path / "doc.pdf").write_bytes(
        make_pdf([["Winds are strong on the coast."], ["Tides follow the moon."]])
    )
    engine = Engine(build_index(tmp_path, ChunkingConfig()))
    [passage] = engine.retrieve("tides moon", k=1)
    assert (passage.page, passage.start_line) == (2, 1)
    assert verify_citation(tmp_path, passage)
    moved = passage.model_copy(update={"page": 1})
    assert not verify_citation(tmp_path, moved)
