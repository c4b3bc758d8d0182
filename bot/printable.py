"""Text from documents and file names made safe to print on a terminal.

A document (or a file's name) can hold escape sequences that a terminal obeys: clear the
screen, set the window title, write the clipboard, print a link that goes elsewhere, or,
with a carriage return or a newline in a file name, forge a line of docqa's own output.
Every adapter that prints such text passes it through ``printable`` (the terminal and the
evaluation's text output) or ``json_printable`` (their ``--json`` output).
"""

from __future__ import annotations

import re
from functools import cache

# C0 controls but tab and newline, DEL and the C1 controls (an 8-bit terminal reads
# U+009B as CSI), the bidirectional overrides and isolates that reorder what is shown
# ("Trojan Source"), the line and paragraph separators, and lone surrogates (the bytes of
# a file name that is not UTF-8, as Python's surrogateescape keeps them)
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, shown as that byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, newlines: bool = True) -> str:
    """``text`` with every control character escaped as ``\\x1b``, ``\\r``, ``\\u202e``...

    Newlines and tabs stay when ``newlines`` (a passage's lines); a file name or a log line
    is one line, so there they are escaped too (``newlines=False``).
    """
    return _pattern(f"[{_UNSAFE}]" if newlines else f"[{_UNSAFE}\t\n]").sub(_escape, text)


@cache
def _pattern(chars: str) -> re.Pattern[str]:
    # compiled on first use: docqa ask's start-up does not pay for what it may not print
    return re.compile(chars)


_JSON_UNSAFE = "[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"


def json_printable(dumped: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``, which already escapes the
    C0 controls) with the other unsafe characters as ``\\uXXXX`` escapes: the same JSON
    value, safe on a terminal and encodable as UTF-8."""
    return _pattern(_JSON_UNSAFE).sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)


def typed(text: str) -> str:
    """Text a user typed or passed as an argument, with the bytes that were not UTF-8
    (which Python keeps as lone surrogates) made U+FFFD, so it can be printed and encoded."""
    return _pattern("[\ud800-\udfff]").sub("\ufffd", text)
