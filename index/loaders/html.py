"""HTML: the visible text in blocks, each piece anchored to its source line."""

from __future__ import annotations

from html.parser import HTMLParser

from index.loaders.common import Anchor, Unreadable, decode_text
from index.models import Block, Document

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
                    kind="heading" if is_heading else "paragraph",
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
                            kind="heading",
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


def load(source: str, data: bytes) -> Document:
    doc = load_html(source, decode_text(data))
    if not doc.blocks:
        raise Unreadable("no visible text")
    return doc


def load_html(source: str, text: str) -> Document:
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

