"""The display text of a piece of inline Markdown, without building markdown-it's tokens.

markdown-it-py's inline pass makes a token for every piece of text, mark and break, which
is two thirds of its time on documentation; the display text needs none of them. For
inline content made only of text, code spans, ``*``/``_`` emphasis, line breaks and
``[text](destination)`` links, ``display_segments`` computes the same display text
directly: code spans found as markdown-it finds them, delimiter runs scanned with
markdown-it's own character classes and paired by its own ``processDelimiters``, so the
marks left out are exactly those markdown-it would turn into emphasis. Anything else
(HTML, autolinks, entities, backslash escapes, images, strikethrough, reference links,
links with unusual destinations) returns None, and the caller lets markdown-it parse it.
``tests/test_loader_markdown.py`` checks the two agree on generated inline Markdown.
"""

from __future__ import annotations

import re
from typing import Any

# markdown-it's own rules, so that emphasis resolves exactly as it does; imported on first
# use (answering from a saved index never imports markdown-it)
_RULES: dict[str, Any] = {}


def _markdown_it_rules() -> bool:
    """Import markdown-it's delimiter rules once; False when this markdown-it has none
    (then markdown-it parses every inline text itself)."""
    if not _RULES:
        try:
            from markdown_it.common.utils import isMdAsciiPunct, isPunctChar, isWhiteSpace
            from markdown_it.rules_inline.balance_pairs import processDelimiters
            from markdown_it.rules_inline.state_inline import Delimiter
        except ImportError:  # pragma: no cover - another markdown-it
            _RULES["ok"] = False
        else:
            _RULES.update(
                ok=True,
                process=processDelimiters,
                delimiter=Delimiter,
                punct=lambda c: isMdAsciiPunct(ord(c)) or isPunctChar(c),
                space=lambda c: isWhiteSpace(ord(c)),
            )
    return bool(_RULES["ok"])

Segment = tuple[str, int]

# what only markdown-it's full inline pass reads right
_NEEDS_PARSER = re.compile(
    r"[\\<\x00]|!\[|~~|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
)
_SPECIAL_INLINE = re.compile(r"[`*_\[]")
_BACKTICKS = re.compile(r"`+")
_BRACKETS = re.compile(r"(?=[`\[\]])(?:[\[\]]|`+)")
# ( destination "title" ) on one line: a newline inside would hide a line break
_LINK_TAIL = re.compile(
    r"""\([ \t]*(?:<([^<>\n\\]*)>|([^\s()<>\\]*))(?:[ \t]+(?:"[^"\\\n]*"|'[^'\\\n]*'))?[ \t]*\)"""
)
_BAD_PROTOCOL = re.compile(r"\s*(?:vbscript|javascript|file|data):", re.IGNORECASE)


def display_segments(raw: str, first_line: int) -> list[Segment] | None:
    """The display text of inline content ``raw`` (an inline token's content) cut where
    its source line changes, each piece with its 0-based line; None when markdown-it's
    inline parser is needed."""
    if _NEEDS_PARSER.search(raw) or not _markdown_it_rules():
        return None
    if not _SPECIAL_INLINE.search(raw):
        return plain_segments(raw, first_line)
    return _Scanner(raw, first_line).run()


def plain_segments(raw: str, first_line: int) -> list[Segment]:
    """Inline text read without its marks: its lines, each break a space (a line ending
    in two spaces, a line break), the next line's indentation left out."""
    lines = raw.split("\n")
    last = len(lines) - 1
    segments: list[Segment] = []
    for n, line in enumerate(lines):
        if n:
            line = line.lstrip(" \t")
        if n < last:
            stripped = line.rstrip(" ")
            hard = len(line) - len(stripped) >= 2
            line = (stripped if hard else line[:-1] if line.endswith(" ") else line) + (
                "\n" if hard else " "
            )
        if line:
            segments.append((line, first_line + n))
    return segments


# a run of one delimiter: (piece index, marker, length, can open, can close, token index)
Run = tuple[int, str, int, bool, bool, int]
# (the lookahead lets the engine skip plain text fast)
_MARK = re.compile(r"(?=[`*_\[\n])(?:`+|\*+|_+|\[|\n[ \t]*)")


class _Scanner:
    def __init__(self, raw: str, first_line: int) -> None:
        self.raw = raw
        self.code = _code_spans(raw)
        self.pieces: list[str] = []  # display pieces; a delimiter run is its own piece
        self.breaks: list[int] = []  # piece index after which a source line ends
        self.tokens = 0  # how many tokens markdown-it would have pushed so far
        self.first_line = first_line
        self.scopes: list[list[Run]] = []  # delimiter runs of the text and of each link

    def run(self) -> list[Segment] | None:
        if self.code is None or not self._scan(0, len(self.raw)):
            return None
        pieces = self.pieces
        for runs in self.scopes:
            if runs:
                for index, kept in _resolve(runs):
                    pieces[index] = pieces[index][:kept]
        segments: list[Segment] = []
        start = 0
        line = self.first_line
        for stop in [*self.breaks, len(pieces) - 1]:
            text = "".join(pieces[start : stop + 1])
            if text:
                segments.append((text, line))
            start = stop + 1
            line += 1
        return segments

    def _scan(self, pos: int, end: int) -> bool:
        """Scan ``raw[pos:end]`` (the whole content, or a link's text); False when it
        holds something only markdown-it reads right."""
        raw, code, pieces = self.raw, self.code, self.pieces
        assert code is not None
        runs: list[Run] = []
        self.scopes.append(runs)
        search = _MARK.search
        tokens = self.tokens
        text_end = -1  # where the last piece of plain text ended
        while pos < end:
            m = search(raw, pos, end)
            if m is None:
                pieces.append(raw[pos:end])
                tokens += 1
                break
            at = m.start()
            if at > pos:
                pieces.append(raw[pos:at])
                tokens += 1
                text_end = at
            elif m.group()[0] == "\n":
                text_end = -1
            mark = m.group()
            first = mark[0]
            pos = m.end()
            if first == "`":
                span = code.get(at)
                if span is None:  # a backtick run without its closer is text
                    pieces.append(mark)
                    tokens += 1
                    continue
                content_end, after = span
                if after > end:
                    return False
                pieces.append(_code_content(raw, pos, content_end))
                tokens += 1
                pos = after
            elif first == "\n":
                # a soft or hard break; trailing spaces before it are not text
                spaces = 0
                if text_end == at and raw[at - 1] == " ":
                    last = pieces[-1]
                    spaces = len(last) - len(last.rstrip(" "))
                    pieces[-1] = last[:-spaces] if spaces >= 2 else last[:-1]
                pieces.append("\n" if spaces >= 2 else " ")
                self.breaks.append(len(pieces) - 1)
                tokens += 1
            elif first == "[":
                close = self._link_close(at, end)
                if close < 0:
                    return False
                tail = _LINK_TAIL.match(raw, close + 1, end)
                if tail is None or _BAD_PROTOCOL.match(tail.group(1) or tail.group(2) or ""):
                    return False
                self.tokens = tokens + 1  # link_open
                if not self._scan(at + 1, close):
                    return False
                tokens = self.tokens + 1  # link_close
                pos = tail.end()
            else:  # a run of * or _, scanned as markdown-it's scanDelims does
                count = len(mark)
                last_punct, last_space = _kind(raw[at - 1] if at > 0 else " ")
                next_punct, next_space = _kind(raw[pos] if pos < end else " ")
                left = not (next_space or (next_punct and not (last_space or last_punct)))
                right = not (last_space or (last_punct and not (next_space or next_punct)))
                if first == "*":
                    can_open, can_close = left, right
                else:
                    can_open = left and (not right or last_punct)
                    can_close = right and (not left or next_punct)
                runs.append((len(pieces), first, count, can_open, can_close, tokens))
                pieces.append(mark)
                tokens += count
        self.tokens = tokens
        return True

    def _link_close(self, pos: int, end: int) -> int:
        """The ``]`` that ends a link's text opened at ``pos`` (code spans skipped), or
        -1 when there is none or the text holds another ``[``."""
        i = pos + 1
        code = self.code
        assert code is not None
        while (m := _BRACKETS.search(self.raw, i, end)) is not None:
            c = m.group()
            if c == "]":
                return m.start()
            if c == "[":
                return -1
            span = code.get(m.start())
            i = span[1] if span else m.end()
        return -1


def _resolve(runs: list[Run]) -> list[tuple[int, int]]:
    """Which delimiter runs keep how many of their marks as text: ``(piece index,
    marks kept)`` for each run that loses some. Runs that nest simply (each closer
    meets an opener of its mark and length, none can both open and close) pair off
    directly; any other sequence is left to markdown-it's ``processDelimiters``."""
    stack: list[Run] = []
    changed: list[tuple[int, int]] = []
    for run in runs:
        _, marker, count, can_open, can_close, _ = run
        if can_open and can_close:
            return _process(runs)
        if can_open:
            stack.append(run)
        elif can_close:
            if not stack or stack[-1][1] != marker or stack[-1][2] != count:
                return _process(runs)
            changed.append((stack.pop()[0], 0))
            changed.append((run[0], 0))
    return changed


def _process(runs: list[Run]) -> list[tuple[int, int]]:
    """Pair the runs' marks with markdown-it's own algorithm (one Delimiter a mark)."""
    Delimiter = _RULES["delimiter"]
    delimiters: list[Any] = []
    owner: list[int] = []
    for index, marker, count, can_open, can_close, token in runs:
        for k in range(count):
            delimiters.append(
                Delimiter(
                    marker=ord(marker),
                    length=count,
                    token=token + k,
                    end=-1,
                    open=can_open,
                    close=can_close,
                )
            )
            owner.append(index)
    _RULES["process"](None, delimiters)
    used: dict[int, int] = {}
    for n, d in enumerate(delimiters):
        if d.end >= 0:  # a matched pair: both marks are emphasis, not text
            used[owner[n]] = used.get(owner[n], 0) + 1
            used[owner[d.end]] = used.get(owner[d.end], 0) + 1
    counts = {index: count for index, _, count, _, _, _ in runs}
    return [(index, counts[index] - n) for index, n in used.items()]


_KINDS: dict[str, tuple[bool, bool]] = {}


def _kind(char: str) -> tuple[bool, bool]:
    """Whether ``char`` is punctuation, and whether it is white space, to markdown-it."""
    kind = _KINDS.get(char)
    if kind is None:
        kind = (_RULES["punct"](char), _RULES["space"](char))
        if len(_KINDS) < 10_000:
            _KINDS[char] = kind
    return kind


def code_spans(raw: str) -> dict[int, tuple[int, int]]:
    """Code spans as markdown-it finds them: opening backtick offset → (content end,
    offset after the closing run). A run opens a span when a later run of the same
    length closes it, else it is text; linear in the number of runs."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(raw)]
    by_length: dict[int, list[int]] = {}
    for n, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(n)
    cursor = {length: 0 for length in by_length}
    spans: dict[int, tuple[int, int]] = {}
    n = 0
    while n < len(runs):
        start, end = runs[n]
        same = by_length[end - start]
        k = cursor[end - start]
        while k < len(same) and same[k] <= n:
            k += 1
        cursor[end - start] = k
        if k < len(same):  # the next run of this length closes the span
            closer = same[k]
            spans[start] = (runs[closer][0], runs[closer][1])
            n = closer + 1
        else:
            n += 1
    return spans


def _code_spans(raw: str) -> dict[int, tuple[int, int]] | None:
    """``code_spans``, or None when one runs over a line break (its text would hide it)."""
    spans = code_spans(raw)
    if "\n" in raw:
        for start, (content_end, _) in spans.items():
            if raw.find("\n", start, content_end) >= 0:
                return None
    return spans


def _code_content(raw: str, pos: int, content_end: int) -> str:
    run_end = pos
    while raw[run_end] == "`":
        run_end += 1
    content = raw[run_end:content_end]
    if content.startswith(" ") and content.endswith(" ") and any(c != " " for c in content):
        content = content[1:-1]
    return content
