"""The DOCX loader: styles as block kinds, tables by row, paragraph numbers as lines."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from conftest import block_rows, failing_citations

from index.loaders import Skipped, load_file, source_lines
from index.loaders import docx as docx_loader
from index.models import Document


def _handbook() -> bytes:
    """A short handbook as Word saves it: title, headings, lists, a table, a quote."""
    d = docx.Document()
    d.core_properties.title = "Widget handbook"
    d.core_properties.author = "Jane Doe"
    d.add_paragraph("Widget handbook", style="Title")  # 1
    d.add_paragraph("The widget ships with a charger and two spare fuses.")  # 2
    d.add_heading("Installation", 1)  # 3
    d.add_paragraph("Run the installer as an administrator.")  # 4
    d.add_paragraph("Close every open program.", style="List Bullet")  # 5
    d.add_paragraph("Restart when asked.", style="List Number")  # 6
    d.add_paragraph("")  # 7: empty, still counted
    table = d.add_table(rows=3, cols=2)  # rows 8, 9, 10
    for r, cells in enumerate([("Model", "Voltage"), ("W-100", "110 V"), ("W-200", "230 V")]):
        for c, text in enumerate(cells):
            table.cell(r, c).text = text
    d.add_heading("Support", 2)  # 11
    d.add_paragraph("Read the manual first.", style="Quote")  # 12
    d.add_paragraph("$ widget --reset", style="macro")  # 13
    d.add_paragraph("$ widget --status", style="macro")  # 14
    p = d.add_paragraph("Call us on weekdays.")  # 15
    p.add_run().add_break()
    p.add_run("Write to us at any time.")
    d.add_heading("Warranty", 1)  # 16
    d.add_paragraph("Two years from purchase.")  # 17
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def _blocks(doc: Document) -> list[tuple[str, str, int, int, tuple[str, ...]]]:
    """Each block as (kind, display text, first line, last line, heading path)."""
    return [(kind, text, first, last, path) for kind, text, path, first, last in block_rows(doc)]


@pytest.fixture
def handbook(tmp_path: Path) -> Path:
    (tmp_path / "handbook.docx").write_bytes(_handbook())
    return tmp_path


def test_blocks_and_paragraph_numbers(handbook: Path) -> None:
    doc = load_file(handbook, handbook / "handbook.docx", "handbook.docx")
    assert isinstance(doc, Document)
    title = ("Widget handbook",)
    inst = (*title, "Installation")
    assert _blocks(doc) == [
        ("heading", "Widget handbook", 1, 1, title),
        ("paragraph", "The widget ships with a charger and two spare fuses.", 2, 2, title),
        ("heading", "Installation", 3, 3, inst),
        ("paragraph", "Run the installer as an administrator.", 4, 4, inst),
        ("list_item", "Close every open program.", 5, 5, inst),
        ("list_item", "Restart when asked.", 6, 6, inst),
        ("table_row", "Model: W-100, Voltage: 110 V", 9, 9, inst),
        ("table_row", "Model: W-200, Voltage: 230 V", 10, 10, inst),
        ("heading", "Support", 11, 11, (*inst, "Support")),
        ("quote", "Read the manual first.", 12, 12, (*inst, "Support")),
        ("code", "$ widget --reset\n$ widget --status", 13, 14, (*inst, "Support")),
        (
            "paragraph",
            "Call us on weekdays.\nWrite to us at any time.",
            15, 15, (*inst, "Support"),
        ),
        ("heading", "Warranty", 16, 16, (*title, "Warranty")),
        ("paragraph", "Two years from purchase.", 17, 17, (*title, "Warranty")),
    ]  # fmt: skip
    assert doc.kind == "docx"
    assert doc.metadata == {"title": "Widget handbook", "author": "Jane Doe"}
    assert failing_citations(handbook) == []


def test_cited_lines_are_the_paragraphs(handbook: Path) -> None:
    lines = source_lines(handbook, "handbook.docx")
    assert lines[6:12] == [
        "",
        "Model | Voltage",
        "W-100 | 110 V",
        "W-200 | 230 V",
        "Support",
        "Read the manual first.",
    ]
    assert len(lines) == 17


def test_not_a_zip_or_not_word_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "fake.docx").write_bytes(b"This is not a Word file.\n")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "a zip, but not a Word document")
    (tmp_path / "other.docx").write_bytes(archive.getvalue())
    assert load_file(tmp_path, tmp_path / "fake.docx", "fake.docx") == Skipped(
        "fake.docx", "not a DOCX file (not a zip archive)"
    )
    assert load_file(tmp_path, tmp_path / "other.docx", "other.docx") == Skipped(
        "other.docx",
        "not a Word document (\"There is no item named '[Content_Types].xml' in the archive\")",
    )


def test_a_zip_bomb_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = io.BytesIO(_handbook())
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/media/zeros.bin", bytes(2 * 2**20))  # 2 MB that pack to 2 KB
    (tmp_path / "bomb.docx").write_bytes(bomb.getvalue())
    assert (tmp_path / "bomb.docx").stat().st_size < 50_000
    monkeypatch.setattr(docx_loader, "MAX_UNPACKED_BYTES", 2**20)
    assert load_file(tmp_path, tmp_path / "bomb.docx", "bomb.docx") == Skipped(
        "bomb.docx", "DOCX unpacks to more than 1 MB (a zip bomb?)"
    )


def test_a_document_without_text_is_skipped(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_paragraph("")
    out = io.BytesIO()
    d.save(out)
    (tmp_path / "blank.docx").write_bytes(out.getvalue())
    assert load_file(tmp_path, tmp_path / "blank.docx", "blank.docx") == Skipped(
        "blank.docx", "no text (an empty or image-only document)"
    )
