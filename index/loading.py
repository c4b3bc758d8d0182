"""Load the documents of a folder: .txt, .md, .html/.htm and .pdf.

A file that cannot be read is skipped with a reason and never stops the others; the
caller decides how to show the reasons (library code does not print).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TypeVar

from index.errors import NoDocumentsError
from index.models import Block, Document

log = logging.getLogger("docqa.loading")

TEXT_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED = ", ".join(sorted({*TEXT_SUFFIXES, *HTML_SUFFIXES, *PDF_SUFFIXES}))
MAX_FILE_BYTES = 50 * 1024 * 1024

Anchor = tuple[int, int, "int | None"]
T = TypeVar("T")


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    source: str
    reason: str


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def iter_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Every file under ``root`` as ``(path, source)``, sorted by source.

    Hidden files and folders (``.git``, ``.docqa``) are passed over; links are followed
    only while they stay inside ``root``, so the yielded source may be a link's name.
    """
    root_real = root.resolve()
    found: list[tuple[str, Path]] = []
    seen_dirs: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = Path(dirpath).resolve()
        if real in seen_dirs or not real.is_relative_to(root_real):
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            found.append((path.relative_to(root).as_posix(), path))
    for source, path in sorted(found):
        yield path, source


def _same(items: Iterable[T]) -> Iterable[T]:
    return items


def load_documents(
    root: Path, track: Callable[[list[tuple[Path, str]]], Iterable[tuple[Path, str]]] = _same
) -> LoadResult:
    """Load every supported document under ``root``; ``track`` may wrap the list of files
    in a progress display.

    Raises NoDocumentsError when the folder is missing or gives no usable document.
    """
    if not root.is_dir():
        raise NoDocumentsError(
            f"documents folder {root} does not exist: create it and add {SUPPORTED} files, "
            "or point DOCQA_DOCS_DIR (or --docs) at another folder"
        )
    result = LoadResult()
    for path, source in track(list(iter_files(root))):
        loaded = load_file(root, path, source)
        if isinstance(loaded, Skipped):
            log.warning("skipped %s: %s", loaded.source, loaded.reason)
            result.skipped.append(loaded)
        else:
            result.documents.append(loaded)
    if not result.documents:
        raise NoDocumentsError(
            f"no documents found in {root}: add {SUPPORTED} files, "
            "or point DOCQA_DOCS_DIR (or --docs) at another folder"
        )
    return result


def load_file(root: Path, path: Path, source: str) -> Document | Skipped:
    """One file as a Document, or the reason it was skipped."""
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES and suffix not in HTML_SUFFIXES | PDF_SUFFIXES:
        return Skipped(source, f"unsupported type (docqa reads {SUPPORTED})")
    try:
        if not path.resolve().is_relative_to(root.resolve()):
            return Skipped(source, "link leads outside the documents folder")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return Skipped(source, f"larger than {MAX_FILE_BYTES // 2**20} MB")
        data = path.read_bytes()
    except OSError as exc:
        return Skipped(source, f"cannot be read ({exc.strerror or exc})")
    if suffix in PDF_SUFFIXES:
        return _load_pdf(source, data)
    text = decode(data)
    if text is None:
        return Skipped(source, "binary or undecodable (not UTF-8 or Windows-1252 text)")
    if not text.strip():
        return Skipped(source, "empty")
    if suffix in HTML_SUFFIXES:
        doc = _load_html(source, text)
        if not doc.blocks:
            return Skipped(source, "no visible text")
        return doc
    return _load_text(source, text, markdown=TEXT_SUFFIXES[suffix] == "markdown")


def decode(data: bytes) -> str | None:
    """UTF-8 (BOM or not), else Windows-1252; None for binary data."""
    if b"\x00" in data[:8192]:
        return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\t\n\r\f")
        if controls > len(text[:8192]) * 0.05:
            return None
        return text.replace("\r\n", "\n").replace("\r", "\n")
    return None


# --- plain text and Markdown -------------------------------------------------------

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
# A line starting like this begins a new paragraph even without a blank line before it.
_STARTS_BLOCK = re.compile(r"^\s*([-*+•]\s|\d+[.)]\s|>|\||#)")
_ENDS_SENTENCE = re.compile(r"[.!?:;\"'”’)\]]\s*$")


def is_soft_break(line: str, next_line: str) -> bool:
    """Whether the line break between two lines is only hard wrapping of one paragraph."""
    if _ENDS_SENTENCE.search(line) or _STARTS_BLOCK.match(next_line):
        return False
    first = next_line.lstrip()[:1]
    # a lowercase continuation is wrapping; a capital after a long line most likely too
    return first.islower() or (len(line.strip()) >= 50 and first.isalnum())


def _line_anchors(text: str, page: int | None = None, base: int = 0) -> list[Anchor]:
    anchors: list[Anchor] = [(base, 1, page)]
    for n, m in enumerate(re.finditer("\n", text), start=2):
        anchors.append((base + m.end(), n, page))
    return anchors


def _text_blocks(
    text: str, markdown: bool, base: int = 0
) -> list[Block]:
    """Paragraph and heading blocks of plain text or Markdown, offsets from ``base``."""
    blocks: list[Block] = []
    path: list[tuple[int, str]] = []
    in_fence = False
    para_start: int | None = None
    para_end = 0
    prev_line = ""

    def close() -> None:
        nonlocal para_start
        if para_start is not None:
            heads = tuple(title for _, title in path)
            blocks.append(Block(start=base + para_start, end=base + para_end, heading_path=heads))
            para_start = None

    offset = 0
    for raw in text.split("\n"):
        start, end = offset, offset + len(raw)
        offset = end + 1
        line = raw.rstrip()
        if markdown and _FENCE.match(line):
            in_fence = not in_fence
        heading = _MD_HEADING.match(line) if markdown and not in_fence else None
        if heading:
            close()
            level, title = len(heading.group(1)), heading.group(2)
            path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
            blocks.append(
                Block(
                    start=base + start,
                    end=base + start + len(line),
                    heading_path=tuple(t for _, t in path),
                    is_heading=True,
                )
            )
            prev_line = ""
            continue
        if not line.strip():
            close()
            prev_line = ""
            continue
        if para_start is not None and (in_fence or not is_soft_break(prev_line, line)):
            close()
        if para_start is None:
            para_start = start + (len(line) - len(line.lstrip()))
        para_end = start + len(line)
        prev_line = line
    close()
    return blocks


def text_document(source: str, text: str, markdown: bool = False) -> Document:
    """A Document from text that is not in a file (a BEIR corpus record, a test): lines
    and paragraphs as a .txt (or .md) file with that text would give."""
    return _load_text(source, text.replace("\r\n", "\n").replace("\r", "\n"), markdown)


def _load_text(source: str, text: str, markdown: bool) -> Document:
    return Document(
        source=source,
        kind="markdown" if markdown else "text",
        text=text,
        blocks=tuple(_text_blocks(text, markdown)),
        anchors=tuple(_line_anchors(text)),
    )


# --- HTML ---------------------------------------------------------------------------

_SKIP_TAGS = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object"}
_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "header", "hr", "li", "main", "nav", "ol",
    "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
}  # fmt: skip
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "wbr"}


class _HTMLText(HTMLParser):
    """Collects visible text in blocks, remembering the source line of every piece."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.anchors: list[Anchor] = []
        self.blocks: list[Block] = []
        self.path: list[tuple[int, str]] = []
        self.skip_depth = 0
        self.heading_level: int | None = None
        self.heading_text: list[str] = []
        self.block_start: int | None = None

    def _break(self) -> None:
        if self.block_start is not None and self.length > self.block_start:
            is_heading = self.heading_level is not None
            self.blocks.append(
                Block(
                    start=self.block_start,
                    end=self.length,
                    heading_path=tuple(t for _, t in self.path),
                    is_heading=is_heading,
                )
            )
        self.block_start = None

    def _emit(self, piece: str, line: int) -> None:
        if self.block_start is None:
            if self.parts:
                self.parts.append("\n")
                self.length += 1
            self.block_start = self.length
        elif not self.parts[-1].endswith(" "):
            self.parts.append(" ")
            self.length += 1
        self.anchors.append((self.length, line, None))
        self.parts.append(piece)
        self.length += len(piece)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            if tag not in _VOID:
                self.skip_depth += 1
            return
        if tag in _HEADINGS:
            self._break()
            self.heading_level = _HEADINGS[tag]
            self.heading_text = []
        elif tag in _BLOCK_TAGS:
            self._break()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if tag in _HEADINGS and self.heading_level is not None:
            level = self.heading_level
            title = " ".join(" ".join(self.heading_text).split())
            if title:
                self.path = [(lv, t) for lv, t in self.path if lv < level] + [(level, title)]
                # the heading's own block carries its new path
                if self.block_start is not None:
                    self.blocks.append(
                        Block(
                            start=self.block_start,
                            end=self.length,
                            heading_path=tuple(t for _, t in self.path),
                            is_heading=True,
                        )
                    )
                    self.block_start = None
            self._break()
            self.heading_level = None
        elif tag in _BLOCK_TAGS:
            self._break()

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        line = self.getpos()[0]
        for i, raw in enumerate(data.split("\n")):
            piece = " ".join(raw.split())
            if piece:
                self._emit(piece, line + i)
                if self.heading_level is not None:
                    self.heading_text.append(piece)


def _load_html(source: str, text: str) -> Document:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    parser._break()
    anchors = parser.anchors or [(0, 1, None)]
    return Document(
        source=source,
        kind="html",
        text="".join(parser.parts),
        blocks=tuple(parser.blocks),
        anchors=tuple(anchors),
    )


# --- PDF ----------------------------------------------------------------------------

PAGE_BREAK = "\n\f\n"


def _load_pdf(source: str, data: bytes) -> Document | Skipped:
    import io

    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:  # pragma: no cover - pypdf is a dependency
        return Skipped(source, "PDF support needs pypdf: pip install pypdf")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return Skipped(source, "encrypted PDF")
        pages = [(page.extract_text() or "") for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        return Skipped(source, f"unreadable PDF ({exc})")
    return pdf_document(source, pages) or Skipped(source, "PDF has no extractable text")


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
        anchors.extend(_line_anchors(page_text, page=number, base=base))
        blocks.extend(_text_blocks(page_text, markdown=False, base=base))
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

