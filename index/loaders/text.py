"""Plain text (and, for now, Markdown read the same way): paragraphs split at blank lines
and at lines that start a new block; Markdown ``#`` headings give the heading path."""

from __future__ import annotations

import re

from index.loaders.common import decode_text, line_anchors
from index.models import Block, Document

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



def text_blocks(
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
                    kind="heading",
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
    return load_text(source, text.replace("\r\n", "\n").replace("\r", "\n"), markdown)


def load_text(source: str, text: str, markdown: bool) -> Document:
    return Document(
        source=source,
        kind="markdown" if markdown else "text",
        text=text,
        blocks=tuple(text_blocks(text, markdown)),
        anchors=tuple(line_anchors(text)),
    )



def load(source: str, data: bytes) -> Document:
    """A plain text file: paragraphs at blank lines and at lines that start a block."""
    return load_text(source, decode_text(data), markdown=False)
