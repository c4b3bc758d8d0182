"""Writing a document block by block: what the Markdown, MDX and AsciiDoc readers share.

A reader hands over each block as *segments*, pieces of display text each with the 0-based
source line it comes from; the writer joins the blocks with a blank line, anchors every
segment to its line (a paragraph wrapped over three lines gets three anchors, a code block
one per line) and keeps the heading path.
"""

from __future__ import annotations

from index.loaders.common import Anchor, Unreadable, check_work
from index.models import Block, BlockKind, Document

Segment = tuple[str, int]  # a piece of display text and its 0-based source line


class DocumentWriter:
    """Collects display text, typed blocks and line anchors, in reading order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.anchors: list[Anchor] = []
        self.blocks: list[Block] = []
        self.path: list[tuple[int, str]] = []
        # what the last block was written for: a list item's next paragraph joins it
        self.last_container: int | None = None

    def emit(self, kind: BlockKind, segments: list[Segment], container: int | None = None) -> None:
        """Write one block. Segments of a block with the same ``container`` (a list item)
        as the block before join that block, one line below it."""
        if kind != "code":  # a code block's first line keeps its indentation
            segments = trim(segments)
        if not segments:
            return
        join = (
            container is not None
            and container == self.last_container
            and bool(self.blocks)
            and self.blocks[-1].kind == kind
        )
        if self.parts:
            self._put("\n" if join else "\n\n")
        start = self.blocks[-1].start if join else self.length
        last_line = self.anchors[-1][1] if self.anchors else -1
        for text, line in segments:
            if line + 1 != last_line:
                self.anchors.append((self.length, line + 1, None))
                last_line = line + 1
            self._put(text)
        block = Block(  # validating is faster than pydantic's model_construct here
            start=start,
            end=self.length,
            kind=kind,
            heading_path=tuple(title for _, title in self.path),
        )
        if join:
            self.blocks[-1] = block
        else:
            self.blocks.append(block)
            if len(self.blocks) % 100 == 0:  # the per-file work bound, between blocks
                check_work(self.length)
        self.last_container = container

    def heading(self, level: int, segments: list[Segment]) -> None:
        """Write a heading of ``level`` (0 for a document's title): it replaces the path's
        headings of its level and below."""
        segments = trim(segments)
        title = " ".join(text_of(segments).split())
        if not title:
            return
        self.path = [(lv, t) for lv, t in self.path if lv < level] + [(level, title)]
        self.emit("heading", segments)

    def _put(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def document(self, source: str, kind: str, metadata: dict[str, str]) -> Document:
        """The Document written; Unreadable when it has no text besides headings."""
        if all(b.kind == "heading" for b in self.blocks):
            raise Unreadable("no text (only markup, front matter or headings)")
        return Document.model_construct(
            source=source,
            kind=kind,
            text="".join(self.parts),
            blocks=tuple(self.blocks),
            anchors=tuple(self.anchors),
            metadata=metadata,
        )


def text_of(segments: list[Segment]) -> str:
    return "".join(text for text, _ in segments)


def trim(segments: list[Segment]) -> list[Segment]:
    """Segments without blank ones at either end or empty ones between, the first
    left-stripped and the last right-stripped."""
    if len(segments) == 1:
        text, line = segments[0]
        stripped = text.strip()
        return [(stripped, line)] if stripped else []
    start, end = 0, len(segments)
    while start < end and not segments[start][0].strip():
        start += 1
    while end > start and not segments[end - 1][0].strip():
        end -= 1
    kept = [s for s in segments[start:end] if s[0]]
    if kept:
        kept[0] = (kept[0][0].lstrip(), kept[0][1])
        kept[-1] = (kept[-1][0].rstrip(), kept[-1][1])
    return kept


def code_segments(lines: list[str], first: int) -> list[Segment]:
    """Code lines, each its own source line from ``first`` on, indentation kept; blank
    lines at either end left out."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    segments: list[Segment] = []
    for n in range(end):
        if not segments and not lines[n].strip():
            continue
        segments.append((lines[n].rstrip() + "\n", first + n))
    if segments:
        text, line = segments[-1]
        segments[-1] = (text[:-1], line)
    return segments
