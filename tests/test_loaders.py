from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from index.errors import NoDocumentsError
from index.loaders import Skipped, decode, load_documents, load_file
from index.models import Document


def _blocks(doc: Document) -> list[tuple[str, tuple[str, ...], bool]]:
    return [(doc.text[b.start : b.end], b.heading_path, b.is_heading) for b in doc.blocks]


def test_loads_every_kind_in_a_stable_order(docs_dir: Path) -> None:
    result = load_documents(docs_dir)
    assert [(d.source, d.kind) for d in result.documents] == [
        ("faq.html", "html"),
        ("guide.md", "markdown"),
        ("manual.pdf", "pdf"),
        ("notes/cafe.txt", "text"),
    ]
    assert result.skipped == []


def test_markdown_headings_and_paragraphs(docs_dir: Path) -> None:
    doc = load_file(docs_dir, docs_dir / "guide.md", "guide.md")
    assert isinstance(doc, Document)
    assert _blocks(doc) == [
        ("# Installation", ("Installation",), True),
        (
            "Run the installer with administrator rights. The installer needs\n"
            "2 GB of free disk space and takes about five minutes.",
            ("Installation",),
            False,
        ),
        ("## Upgrading", ("Installation", "Upgrading"), True),
        (
            "Back up the database before upgrading. Version 3.2 changed the\n"
            "schema, so older backups cannot be restored.",
            ("Installation", "Upgrading"),
            False,
        ),
        ("# Troubleshooting", ("Troubleshooting",), True),
        ("- If the service does not start, check that port 8080 is free.", ("Troubleshooting",), False),
        ("- Logs are written to /var/log/widget.log every hour.", ("Troubleshooting",), False),
    ]
    assert doc.locate(doc.blocks[3].start) == (8, None)


def test_markdown_hash_inside_code_fence_is_not_a_heading(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Title\n\n```sh\n# a comment\necho hi\n```\n")
    doc = load_file(tmp_path, tmp_path / "a.md", "a.md")
    assert isinstance(doc, Document)
    assert [b.is_heading for b in doc.blocks] == [True, False, False, False, False]
    assert all(b.heading_path == ("Title",) for b in doc.blocks)


def test_html_visible_text_headings_and_source_lines(docs_dir: Path) -> None:
    doc = load_file(docs_dir, docs_dir / "faq.html", "faq.html")
    assert isinstance(doc, Document)
    assert _blocks(doc) == [
        ("Widget FAQ", ("Widget FAQ",), True),
        ("The widget supports three colour modes: dark, light and sepia.", ("Widget FAQ",), False),
        ("Pricing", ("Widget FAQ", "Pricing"), True),
        ("A licence costs €49 per seat per year.", ("Widget FAQ", "Pricing"), False),
    ]
    assert "zebra" not in doc.text and "color" not in doc.text
    modes = doc.blocks[1]
    assert doc.locate(modes.start) == (5, None)
    assert doc.locate(modes.end - 1) == (6, None)  # "dark, light and sepia." is on line 6
    assert doc.locate(doc.blocks[3].start) == (8, None)


def test_pdf_text_by_page(docs_dir: Path) -> None:
    doc = load_file(docs_dir, docs_dir / "manual.pdf", "manual.pdf")
    assert isinstance(doc, Document)
    texts = [t for t, _, _ in _blocks(doc)]
    assert texts == [
        "Warranty terms",
        "The warranty lasts two years from purchase.",
        "Returns",
        "Returns are accepted within 30 days.",
    ]
    assert [doc.locate(b.start) for b in doc.blocks] == [(1, 1), (2, 1), (1, 2), (2, 2)]


def test_windows_1252_is_the_fallback(docs_dir: Path) -> None:
    doc = load_file(docs_dir, docs_dir / "notes" / "cafe.txt", "notes/cafe.txt")
    assert isinstance(doc, Document)
    assert doc.text == "Le café ouvre à huit heures.\n"


def test_decode() -> None:
    assert decode("\ufeffhé\r\nho".encode()) == "hé\nho"
    assert decode(b"caf\xe9") == "café"
    assert decode(b"\x00\x01binary") is None
    assert decode(b"\x81\x8d\x9d") is None  # undefined in Windows-1252 too
    assert decode(bytes(range(1, 32)) * 10) is None  # control characters: not text


def test_bad_files_are_skipped_with_a_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "good.txt").write_text("A good document about turbines.\n")
    (root / "blob.txt").write_bytes(b"\x00\x01\x02\x03")
    (root / "bad.md").write_bytes(b"\x81\x8d\x9d\x81")
    (root / "empty.md").write_text("  \n\n")
    (root / "image.png").write_bytes(b"\x89PNG")
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (root / "script.html").write_text("<script>x()</script>")
    outside = tmp_path / "secret.txt"
    outside.write_text("outside the folder")
    os.symlink(outside, root / "link.txt")
    (root / ".hidden.txt").write_text("hidden files are passed over")
    with caplog.at_level(logging.WARNING, logger="docqa.loading"):
        result = load_documents(root)
    assert [d.source for d in result.documents] == ["good.txt"]
    assert result.skipped == [
        Skipped("bad.md", "binary or undecodable (not UTF-8, UTF-16 or Windows-1252 text)"),
        Skipped("blob.txt", "binary or undecodable (not UTF-8, UTF-16 or Windows-1252 text)"),
        Skipped("broken.pdf", result.skipped[2].reason),
        Skipped("empty.md", "empty"),
        Skipped("image.png", "unsupported type (docqa reads .docx, .htm, .html, .markdown, .md, .pdf, .rest, .rst, .txt)"),
        Skipped("link.txt", "link leads outside the documents folder"),
        Skipped("script.html", "no visible text"),
    ]
    assert result.skipped[2].reason.startswith("unreadable PDF")
    ours = [r for r in caplog.records if r.name == "docqa.loading"]
    assert len(ours) == 7
    assert ours[0].getMessage() == (
        "skipped bad.md: binary or undecodable (not UTF-8, UTF-16 or Windows-1252 text)"
    )


def test_no_usable_document_says_where_and_what(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"\x89PNG")
    with pytest.raises(NoDocumentsError) as err:
        load_documents(tmp_path)
    assert str(err.value) == (
        f"no documents found in {tmp_path}: add .docx, .htm, .html, .markdown, .md, .pdf, .rest, .rst, .txt files, "
        "or point DOCQA_DOCS_DIR (or --docs) at another folder"
    )
    with pytest.raises(NoDocumentsError, match="does not exist"):
        load_documents(tmp_path / "missing")
