"""MDX: Markdown with ESM and JSX. What is not Markdown is blanked line for line before
markdown-it reads the rest (``index.loaders.markdown``), so line numbers stay the file's:
``import``/``export`` statements (also an ``export const info = {...}`` over many lines),
JSX tags (``<Note type="info">``, ``</Note>``, ``<Chart data={x} />``, over lines too)
and ``{/* comments */}``. What a component wraps stays; an admonition-like component
(``<Note>``, ``<Callout>``, ``<Warning>``...) makes its content a quote. Code fences and
inline code are left as they are, attributes on a fence's line included
(```` ```js twoslash path="example.js" ````).
"""

from __future__ import annotations

import re
from bisect import bisect_right

from index.loaders.common import decode_text
from index.loaders.markdown import ADMONITIONS, Prepared, markdown_document
from index.loaders.mdinline import code_spans
from index.models import Document


def load(source: str, data: bytes) -> Document:
    return markdown_document(source, decode_text(data), kind="mdx", prepare=strip_mdx)


_ESM = re.compile(r"(?:import|export)\b(?!\s*[-:,.;!?)])")
_JSX_START = re.compile(r"<(/?)(?:([A-Za-z][\w.:-]*)(?=[\s/>])|(?=>))|\{(?=\s*/\*)")


def strip_mdx(prepared: Prepared, fenced: list[bool]) -> None:
    """Blank ESM statements, JSX tags and ``{/* comments */}`` outside code fences."""
    lines = prepared.lines
    _strip_esm(lines, fenced)
    start = 0
    while start < len(lines):
        if fenced[start]:
            start += 1
            continue
        end = start
        while end < len(lines) and not fenced[end]:
            end += 1
        text = "\n".join(lines[start:end])
        if "<" in text or "{" in text:
            text = _strip_jsx(text, start, prepared)
            lines[start:end] = [line if line.strip() else "" for line in text.split("\n")]
        start = end
    prepared.quotes.sort()


def _strip_esm(lines: list[str], fenced: list[bool]) -> None:
    """An ``import``/``export`` at the start of a paragraph runs to the next blank line
    at which its brackets are balanced (an object literal may hold blank lines)."""
    i = 0
    while i < len(lines):
        if fenced[i] or not _ESM.match(lines[i]) or (i and lines[i - 1].strip()):
            i += 1
            continue
        depth = 0
        while i < len(lines) and not fenced[i]:
            if not lines[i].strip() and depth <= 0:
                break
            depth += _depth(lines[i])
            lines[i] = ""
            i += 1


def _depth(line: str) -> int:
    # strings rarely hold brackets in ESM headers; a rough count is enough to find the end
    code = re.sub(r"""(["'`])(?:\\.|(?!\1).)*\1|//.*""", "", line)
    return sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")


def _strip_jsx(text: str, first_line: int, prepared: Prepared) -> str:
    """``text`` with its JSX tags and comments replaced by the line breaks they held;
    those inside inline code are kept, and admonition components' lines become quotes."""
    spans = sorted((a, b) for a, (_, b) in code_spans(text).items()) if "`" in text else []
    starts = [a for a, _ in spans]
    out: list[str] = []
    budget = 4 * len(text) + 10_000  # characters tags may scan in all: linear time
    close = -2  # the next "*/" (-1: none left), found once for many comment openings
    cursor = 0
    open_quotes: list[tuple[str, int]] = []
    for m in _JSX_START.finditer(text):
        at = m.start()
        if at < cursor or _inside(spans, starts, at):
            continue
        if text[at] == "{":
            if -1 < close < at or close == -2:
                close = text.find("*/", at)
            end = _comment_end(text, close)
            if end < 0:
                continue
        else:
            if budget <= 0:
                continue
            end = _tag_end(text, m.end())
            budget -= (end if end > 0 else m.end() + 200) - at
            if end < 0:
                continue
        out.append(text[cursor:at])
        out.append("\n" * text.count("\n", at, end))
        cursor = end
        name = (m.group(2) or "").lower()
        if name not in ADMONITIONS:
            continue
        line = first_line + text.count("\n", 0, at)
        if m.group(1):
            while open_quotes:
                opened, start = open_quotes.pop()
                if opened == name:
                    prepared.quotes.append((start, line))
                    break
        elif text[end - 2 : end] != "/>":
            open_quotes.append((name, line))
    out.append(text[cursor:])
    last = first_line + text.count("\n")
    prepared.quotes.extend((start, last) for _, start in open_quotes)
    return "".join(out)


def _inside(spans: list[tuple[int, int]], starts: list[int], at: int) -> bool:
    n = bisect_right(starts, at) - 1
    return n >= 0 and spans[n][0] <= at < spans[n][1]


def _comment_end(text: str, close: int) -> int:
    """The offset past the ``}`` of a ``{/* ... */}`` whose ``*/`` is at ``close``, or -1."""
    if close < 0:
        return -1
    after = close + 2
    while after < len(text) and text[after] in " \t\n":
        after += 1
    return after + 1 if text.startswith("}", after) else -1


def _tag_end(text: str, pos: int, limit: int = 2000) -> int:
    """The offset just past the ``>`` that closes a tag whose attributes start at
    ``pos`` (quotes and ``{...}`` expressions skipped), or -1 when there is none."""
    depth = 0
    quote = ""
    stop = min(len(text), pos + limit)
    i = pos
    while i < stop:
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
        elif c in "\"'" and depth == 0 or c == "`" and depth:
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == ">" and depth == 0:
            return i + 1
        elif c == "<" and depth == 0:
            return -1  # a second "<" before any ">": not a tag
        elif c == "\n" and depth == 0 and text.startswith("\n", i + 1):
            return -1  # a blank line ends a paragraph, and a tag with it
        i += 1
    return -1
