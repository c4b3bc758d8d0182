"""Plain text: the encodings people save (UTF-8, with a BOM, Notepad's UTF-16, Windows-1252)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from conftest import failing_citations

from index.loaders import Skipped, decode, load_file, source_lines
from index.models import Document

NOTES = (
    "Opening hours\r\n"
    "\r\n"
    "The café opens at eight. The kitchen closes\r\n"
    "at ten, and the terrace at midnight.\r\n"
    "\r\n"
    "- Tuesdays: closed\r\n"
)
BLOCKS = [
    ("Opening hours", 1, 1),
    ("The café opens at eight. The kitchen closes\nat ten, and the terrace at midnight.", 3, 4),
    ("- Tuesdays: closed", 6, 6),
]


@pytest.mark.parametrize(
    "encoded",
    [
        NOTES.encode("utf-8"),
        codecs.BOM_UTF8 + NOTES.encode("utf-8"),
        codecs.BOM_UTF16_LE + NOTES.encode("utf-16-le"),  # Notepad's "Unicode"
        codecs.BOM_UTF16_BE + NOTES.encode("utf-16-be"),  # Notepad's "Unicode big endian"
        NOTES.encode("cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be", "windows-1252"],
)
def test_each_encoding_reads_the_same(tmp_path: Path, encoded: bytes) -> None:
    (tmp_path / "notes.txt").write_bytes(encoded)
    doc = load_file(tmp_path, tmp_path / "notes.txt", "notes.txt")
    assert isinstance(doc, Document)
    assert doc.text == NOTES.replace("\r\n", "\n")
    assert [
        (doc.text[b.start : b.end], doc.locate(b.start)[0], doc.locate(b.end - 1)[0])
        for b in doc.blocks
    ] == BLOCKS
    assert failing_citations(tmp_path) == []
    # what :open shows is the decoded file, lines as citations count them
    assert source_lines(tmp_path, "notes.txt")[2:4] == [
        "The café opens at eight. The kitchen closes",
        "at ten, and the terrace at midnight.",
    ]


def test_decode_byte_order_marks() -> None:
    assert decode(codecs.BOM_UTF16_LE + "hé\r\nho".encode("utf-16-le")) == "hé\nho"
    assert decode(codecs.BOM_UTF32_LE + "hé".encode("utf-32-le")) == "hé"
    assert decode(codecs.BOM_UTF16_LE + b"\x00\xd8") is None  # a lone surrogate: broken
    assert decode("hé".encode("utf-16-le")) is None  # no BOM: NUL bytes, so binary


def test_binary_and_blank_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02\x03" * 100)
    (tmp_path / "blank.txt").write_bytes(codecs.BOM_UTF16_LE + " \r\n".encode("utf-16-le"))
    assert load_file(tmp_path, tmp_path / "blob.txt", "blob.txt") == Skipped(
        "blob.txt", "binary or undecodable (not UTF-8, UTF-16 or Windows-1252 text)"
    )
    assert load_file(tmp_path, tmp_path / "blank.txt", "blank.txt") == Skipped(
        "blank.txt", "empty"
    )
