"""What every loader shares: the skip record, the error a loader raises, line anchors,
text decoding and the per-file work bound."""

from __future__ import annotations

import codecs
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

Anchor = tuple[int, int, "int | None"]

# between the pages of a PDF's text (here so that reading it never imports the PDF loader)
PAGE_BREAK = "\n\f\n"


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


# Byte order marks, longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(data: bytes) -> str | None:
    """UTF-8 (BOM or not), UTF-16 or UTF-32 with a BOM (what Windows Notepad saves as
    "Unicode"), else Windows-1252; None for binary data. Line ends become ``\\n``."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _text_or_none(data.decode(encoding))
            except UnicodeDecodeError:
                return None
    if b"\x00" in data[:8192]:
        return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return _text_or_none(text)
    return None


# control characters other than tab, line feed, form feed and carriage return
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f]")


def _text_or_none(text: str) -> str | None:
    head = text[:8192]
    controls = len(_CONTROLS.findall(head))
    if controls > len(head) * 0.05:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_text(data: bytes) -> str:
    """The text of a text file, or Unreadable when it is binary, undecodable or blank."""
    text = decode(data)
    if text is None:
        raise Unreadable("binary or undecodable (not UTF-8, UTF-16 or Windows-1252 text)")
    if not text.strip():
        raise Unreadable("empty")
    return text


# --- the per-file work bound ------------------------------------------------------------


@dataclass(frozen=True)
class WorkBound:
    """How much work one file may cost: characters of extracted text and seconds."""

    max_chars: int
    max_seconds: float
    deadline: float
    clock: Callable[[], float]

    def check(self, chars: int = 0) -> None:
        if chars > self.max_chars:
            raise Unreadable(
                f"more than {self.max_chars:,} characters of text (the per-file bound)"
            )
        if self.clock() > self.deadline:
            raise Unreadable(
                f"took more than {self.max_seconds:g} s to read (the per-file time bound)"
            )


_bound: ContextVar[WorkBound | None] = ContextVar("docqa_work_bound", default=None)


@contextmanager
def work_bound(
    max_chars: int, max_seconds: float, clock: Callable[[], float] = time.monotonic
) -> Iterator[WorkBound]:
    """Bound the work of the loader running inside: ``check_work`` raises Unreadable
    (the file's skip reason) once it is spent."""
    bound = WorkBound(max_chars, max_seconds, clock() + max_seconds, clock)
    token = _bound.set(bound)
    try:
        yield bound
    finally:
        _bound.reset(token)


def check_work(chars: int = 0) -> None:
    """Loaders call this between steps (a page, a block) with the characters extracted so
    far: past the file's bound it raises Unreadable. A parser cannot be stopped inside
    one call, so the bound is as fine as the steps a loader checks it between."""
    bound = _bound.get()
    if bound is not None:
        bound.check(chars)
