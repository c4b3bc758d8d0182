"""What reaches a terminal from a document or a file name: control characters escaped."""

from __future__ import annotations

import json

from bot.printable import json_printable, printable, typed


def test_controls_are_escaped_and_text_stays() -> None:
    text = "caf\u00e9 \x1b]0;t\x07 \x1b[2J\r\x9b31m \u202eevil\u2069 a\tb\nnext \udcff"
    assert printable(text) == (
        "caf\u00e9 \\x1b]0;t\\x07 \\x1b[2J\\r\\x9b31m \\u202eevil\\u2069 a\tb\nnext \\xff"
    )
    # a file name or a log line is one line: its newline and tab are escaped too
    assert printable("forged\ndocqa: built\t.txt", newlines=False) == (
        "forged\\ndocqa: built\\t.txt"
    )


def test_json_keeps_its_value_and_loses_its_controls() -> None:
    value = {"source": "bad\udcff\u009b\u202e.txt", "text": "\x1b[2J"}
    dumped = json_printable(json.dumps(value, ensure_ascii=False))
    assert dumped == '{"source": "bad\\udcff\\u009b\\u202e.txt", "text": "\\u001b[2J"}'
    assert json.loads(dumped) == value
    dumped.encode("utf-8")  # no lone surrogate left to fail on


def test_typed_text_loses_its_undecodable_bytes() -> None:
    assert typed("musk \udcff") == "musk \ufffd"
