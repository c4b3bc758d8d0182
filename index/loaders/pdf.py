"""PDF: the text layer of every page (pypdf); lines are counted within each page."""

from __future__ import annotations

from index.loaders.common import Anchor, Unreadable, line_anchors
from index.loaders.text import text_blocks
from index.models import Block, Document

PAGE_BREAK = "\n\f\n"


def load(source: str, data: bytes) -> Document:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise Unreadable("encrypted PDF")
        pages = [(page.extract_text() or "") for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise Unreadable(f"unreadable PDF ({exc})") from None
    doc = pdf_document(source, pages)
    if doc is None:
        raise Unreadable("PDF has no extractable text")
    return doc


def pdf_document(source: str, pages: list[str]) -> Document | None:
    """A Document from page texts; lines are counted within each page."""
    text_parts: list[str] = []
    blocks: list[Block] = []
    anchors: list[Anchor] = []
    base = 0
    for number, page_text in enumerate(pages, start=1):
        page_text = page_text.replace("\r\n", "\n").replace("\r", "\n")
        if text_parts:
            text_parts.append(PAGE_BREAK)
            base += len(PAGE_BREAK)
        anchors.extend(line_anchors(page_text, page=number, base=base))
        blocks.extend(text_blocks(page_text, markdown=False, base=base))
        text_parts.append(page_text)
        base += len(page_text)
    if not blocks:
        return None
    return Document(
        source=source,
        kind="pdf",
        text="".join(text_parts),
        blocks=tuple(blocks),
        anchors=tuple(anchors),
    )

