"""What every loader shares: the skip record, the error a loader raises, line anchors and
text decoding."""

from __future__ import annotations

import re
from dataclasses import dataclass

Anchor = tuple[int, int, "int | None"]


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    source: str
    reason: str


class Unreadable(Exception):
    """Raised by a loader for a file it cannot make a document of; the message is the skip
    reason shown to the user ("empty", "encrypted PDF", ...)."""



def line_anchors(text: str, page: int | None = None, base: int = 0) -> list[Anchor]:
    """An anchor at the start of every line of ``text`` (offsets from ``base``)."""
    anchors: list[Anchor] = [(base, 1, page)]
    for n, m in enumerate(re.finditer("\n", text), start=2):
        anchors.append((base + m.end(), n, page))
    return anchors


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



def decode_text(data: bytes) -> str:
    """The text of a text file, or Unreadable when it is binary, undecodable or blank."""
    text = decode(data)
    if text is None:
        raise Unreadable("binary or undecodable (not UTF-8 or Windows-1252 text)")
    if not text.strip():
        raise Unreadable("empty")
    return text
