"""DOCX (python-docx): the body's paragraphs and tables in reading order.

Heading styles (``Title``, ``Heading 1`` to ``Heading 9``, and styles based on them) are
headings, list paragraphs (a list style or numbering) list items, quote styles quotes,
and each table row a ``Header: value, Header: value`` row under the first row's cells.

A Word file has no lines, so its "lines" are paragraph numbers: the body's paragraphs
and table rows counted from 1 in reading order, empty paragraphs included. Headers,
footers, footnotes, comments and text boxes are not read.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from index.loaders.common import Anchor, Unreadable, check_work
from index.models import Block, BlockKind, Document

# A .docx is a zip; python-docx unpacks every part into memory, so bound what it unpacks.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_PARTS = 10_000

_HEADING = re.compile(r"heading ([1-9])$", re.IGNORECASE)
_QUOTE_STYLES = {"quote", "intense quote", "block text"}
_CODE_STYLES = {"html preformatted", "macro", "macro text", "code", "source code", "plain text"}


def _open(data: bytes) -> Any:
    """The python-docx document, or Unreadable for a file that is not a sound DOCX."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Unreadable("not a DOCX file (not a zip archive)") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_PARTS:
            raise Unreadable(f"DOCX holds more than {MAX_PARTS:,} parts (a zip bomb?)")
        # zipfile stops reading a member at its declared size, so the sum bounds the work
        if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
            raise Unreadable(
                f"DOCX unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB (a zip bomb?)"
            )
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError:  # pragma: no cover - a runtime dependency; kept for partial installs
        raise Unreadable("reading .docx needs python-docx (pip install python-docx)") from None
    try:
        return docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise Unreadable(f"not a Word document ({exc})") from None


def _style_names(paragraph: Any) -> list[str]:
    """The paragraph's style name and the names of the styles it is based on."""
    names: list[str] = []
    try:
        style = paragraph.style
    except (KeyError, ValueError, AttributeError):
        return names
    while style is not None and len(names) < 10:
        names.append((style.name or "").strip().lower())
        style = style.base_style
    return names


def _kind(paragraph: Any) -> tuple[BlockKind, int]:
    """The block kind of a paragraph, and its heading level (0 for a title)."""
    names = _style_names(paragraph)
    for name in names:
        if name == "title":
            return "heading", 0
        heading = _HEADING.match(name)
        if heading:
            return "heading", int(heading.group(1))
    ppr = paragraph._p.pPr
    if (ppr is not None and ppr.numPr is not None) or any(n.startswith("list") for n in names):
        return "list_item", 0
    if any(n in _QUOTE_STYLES for n in names):
        return "quote", 0
    if any(n in _CODE_STYLES for n in names):
        return "code", 0
    return "paragraph", 0


def _cells(row: Any) -> list[str]:
    """The texts of a row's cells, a merged cell once."""
    texts: list[str] = []
    seen: set[int] = set()
    for cell in row.cells:
        if id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        texts.append(" ".join(cell.text.split()))
    return texts


def _row_text(cells: list[str], header: list[str] | None) -> str:
    if header is not None and len(header) == len(cells):
        pairs = [f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=True) if c]
        return ", ".join(pairs)
    return ", ".join(c for c in cells if c)


def _items(document: Any) -> Iterator[tuple[int, BlockKind, int, str]]:
    """``(paragraph number, kind, heading level, display text)`` for every body paragraph
    and table row with text, in reading order."""
    from docx.table import Table

    number = 0
    chars = 0
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = [_cells(row) for row in item.rows]
            header = rows[0] if len(rows) > 1 and all(rows[0]) else None
            for i, cells in enumerate(rows):
                number += 1
                if i == 0 and header is not None:
                    continue  # read with every row under it
                text = _row_text(cells, header)
                if text:
                    yield number, "table_row", 0, text
            continue
        number += 1
        if any(name.startswith("toc ") for name in _style_names(item)):
            continue  # a table of contents line ("Installation ..... 3")
        kind, level = _kind(item)
        text = item.text.replace("\r", "\n")
        if kind == "code":
            text = text.strip("\n")  # code keeps its spacing
        else:
            text = "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()
        if text.strip():
            chars += len(text)
            if number % 200 == 0:
                check_work(chars)
            yield number, kind, level, text


def load(source: str, data: bytes) -> Document:
    document = _open(data)
    parts: list[str] = []
    anchors: list[Anchor] = []
    blocks: list[Block] = []
    path: list[tuple[int, str]] = []
    length = 0
    previous = 0  # the paragraph number of the block before
    for number, kind, level, text in _items(document):
        if kind == "code" and blocks and blocks[-1].kind == "code" and number == previous + 1:
            # a code listing is one paragraph per line in Word: one block, line by line
            parts.append("\n")
            anchors.append((length + 1, number, None))
            parts.append(text)
            length += 1 + len(text)
            blocks[-1] = blocks[-1].model_copy(update={"end": length})
            previous = number
            continue
        if parts:
            parts.append("\n\n")
            length += 2
        if kind == "heading":
            title = " ".join(text.split())
            path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
            text = title
        anchors.append((length, number, None))
        blocks.append(
            Block(
                start=length,
                end=length + len(text),
                kind=kind,
                heading_path=tuple(t for _, t in path),
            )
        )
        parts.append(text)
        length += len(text)
        previous = number
    if not blocks:
        raise Unreadable("no text (an empty or image-only document)")
    props = document.core_properties
    metadata = {
        key: " ".join(str(value).split())
        for key, value in (
            ("title", props.title),
            ("author", props.author),
            ("subject", props.subject),
            ("keywords", props.keywords),
        )
        if value and str(value).strip()
    }
    return Document(
        source=source,
        kind="docx",
        text="".join(parts),
        blocks=tuple(blocks),
        anchors=tuple(anchors),
        metadata=metadata,
    )


def paragraph_lines(data: bytes) -> list[str]:
    """Line n is the text of paragraph (or table row) n, as citations count them; a
    table row's cells joined with " | ", the header row included."""
    from docx.table import Table

    document = _open(data)
    lines: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            lines.extend(" | ".join(_cells(row)) for row in item.rows)
        else:
            lines.append(" ".join(item.text.split()))
    return lines
