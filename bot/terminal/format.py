"""Pure functions that turn an Answer into terminal text or a JSON-ready dict.

Everything that comes from a document or a file name goes through ``printable`` before it
is shown (and before any colour is added), so a document cannot drive the terminal.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from bot.printable import printable
from index.models import Answer, Passage, SourceInfo, TermContribution
from index.tokenize import token_spans

BOLD = "\033[1m"
DIM = "\033[2m"
YELLOW = "\033[33m"
RESET = "\033[0m"

SourceLine = tuple[int, str, "tuple[int, int] | None"]


def use_color(stream: TextIO) -> bool:
    """Colour on a terminal, unless ``NO_COLOR`` is set to anything (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def highlight(text: str, terms: Iterable[str], color: bool) -> str:
    """``text`` with the words whose stems are in ``terms`` in bold yellow (plain if not
    ``color``)."""
    wanted = set(terms)
    if not color or not wanted:
        return text
    out: list[str] = []
    last = 0
    for start, end, stem in token_spans(text):
        # an identifier's parts share its span: mark the word once
        if stem in wanted and start >= last:
            out.append(text[last:start])
            out.append(f"{BOLD}{YELLOW}{text[start:end]}{RESET}")
            last = end
    out.append(text[last:])
    return "".join(out)


def _pieces(line: str, width: int) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of ``line`` cut at spaces into pieces of at most ``width``
    characters (the space at a cut is dropped); a word longer than ``width`` is never split
    and stands on its own piece."""
    pieces = []
    start = 0
    while len(line) - start > width:
        cut = line.rfind(" ", start + 1, start + width + 1)
        if cut < 0:  # one long word (a URL): let it run over the line
            cut = line.find(" ", start + width)
            if cut < 0:
                break
        pieces.append((start, cut))
        start = cut + 1
    pieces.append((start, len(line)))
    return pieces


def _line_pieces(line: str, width: int | None, indent: str) -> list[tuple[str, int, int]]:
    """``(prefix, start, end)`` for each piece of ``line``: the first piece after
    ``indent``, the others after ``indent`` and the line's own leading spaces."""
    if width is None or len(indent) + len(line) <= width:
        return [(indent, 0, len(line))]
    own = line[: len(line) - len(line.lstrip(" "))]
    room = max(width - len(indent) - len(own), 20)
    cut = _pieces(line[len(own) :], room)
    return [
        (indent + own if i else indent, (0 if i == 0 else a + len(own)), b + len(own))
        for i, (a, b) in enumerate(cut)
    ]


def wrap(text: str, width: int | None, indent: str = "") -> list[str]:
    """The lines of ``text``, each after ``indent`` and, when ``width`` is given, cut at
    spaces to fit it; a cut line's continuations keep its indent (and its own leading
    spaces, for code). Words are never split: one longer than the line runs over it."""
    return [
        prefix + line[a:b]
        for line in text.split("\n")
        for prefix, a, b in _line_pieces(line, width, indent)
    ]


STALE_MARK = "(changed since indexed)"


def passage_header(n: int, passage: Passage) -> str:
    """``[n] SOURCE:FIRST-LAST — HEADING`` (the heading part only when there is one),
    marked when the file changed since it was indexed."""
    head = f"[{n}] {printable(passage.citation, newlines=False)}"
    if passage.heading:
        head = f"{head} — {printable(passage.heading, newlines=False)}"
    return f"{head}  {STALE_MARK}" if passage.stale else head


def format_passage(n: int, passage: Passage, color: bool, width: int | None = None) -> str:
    header = "\n".join(wrap(passage_header(n, passage), width))
    if color:
        header = f"{BOLD}{header}{RESET}"
    body = wrap(printable(passage.text), width, indent="    ")
    lines = [highlight(line, passage.matched_terms, color) for line in body]
    return "\n".join([header, *lines])


def own_passages(answer: Answer) -> list[int]:
    """The numbers (1-based) of the passages the answer quotes, in the order it first
    quotes them; for an abstention, the closest passage."""
    quoted = list(dict.fromkeys(s.passage for s in answer.sentences))
    if not quoted and answer.passages:
        quoted = [1]
    return [n for n in quoted if 1 <= n <= len(answer.passages)]


def format_answer(
    answer: Answer, color: bool = False, width: int | None = None, brief: bool = False
) -> str:
    """The answer, then each passage with its citation, as ``docqa ask`` prints it.

    ``brief`` (the REPL) shows only the answer's own passages in full, and lists the
    others in one line by their citations, so a short terminal keeps the answer in view.
    """
    lines = wrap(printable(answer.text), width)
    numbers = own_passages(answer) if brief else list(range(1, len(answer.passages) + 1))
    if answer.abstained and answer.passages:
        label = "Closest passage:" if len(numbers) == 1 else "Closest passages:"
        lines.append(label if not color else f"{DIM}{label}{RESET}")
    blocks = ["\n".join(lines)]
    blocks += [format_passage(n, answer.passages[n - 1], color, width) for n in numbers]
    others = [n for n in range(1, len(answer.passages) + 1) if n not in numbers]
    if others:
        line = "\n".join(wrap(f"Also found: {_listed(answer, others)} (:open N shows one)", width))
        blocks.append(line if not color else f"{DIM}{line}{RESET}")
    return "\n\n".join(blocks)


def _listed(answer: Answer, numbers: Sequence[int]) -> str:
    """``[2] 8-10, [3] 6-8 of a.txt; [4] 1-2 p.2 of b.pdf``: passages by their lines,
    each run of one file named once."""
    runs: list[tuple[str, list[str]]] = []
    for n in numbers:
        p = answer.passages[n - 1]
        page = f" p.{p.page}" if p.page is not None else ""
        item = f"[{n}] {p.start_line}-{p.end_line}{page}"
        if runs and runs[-1][0] == p.source:
            runs[-1][1].append(item)
        else:
            runs.append((p.source, [item]))
    return "; ".join(
        f"{', '.join(items)} of {printable(source, newlines=False)}" for source, items in runs
    )


def answer_json(answer: Answer) -> dict[str, Any]:
    """The ``--json`` object of ``docqa ask``; ``page`` is a PDF passage's page (its lines
    are counted within that page), null for other files."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "confidence": answer.coverage,
        "passages": [
            {
                "n": n,
                "source": p.source,
                "start_line": p.start_line,
                "end_line": p.end_line,
                "page": p.page,
                "heading": p.heading,
                "score": p.score,
                "text": p.text,
            }
            for n, p in enumerate(answer.passages, start=1)
        ],
    }


def format_sources(sources: Sequence[SourceInfo], skipped: Sequence[Any] = ()) -> str:
    """The indexed documents and their chunk counts, then the files that were skipped and
    why (``skipped`` holds records with ``source`` and ``reason``)."""
    if not sources:
        return "No documents are indexed."
    names = [printable(s.source, newlines=False) for s in sources]
    width = max(len(name) for name in names)
    rows = [
        f"{name:<{width}}  {s.chunks} chunk{'s' if s.chunks != 1 else ''}"
        for name, s in zip(names, sources, strict=True)
    ]
    total = sum(s.chunks for s in sources)
    rows.append(
        f"{len(sources)} document{'s' if len(sources) != 1 else ''}, "
        f"{total} chunk{'s' if total != 1 else ''}"
    )
    if skipped:
        rows.append(f"{len(skipped)} file{'s' if len(skipped) != 1 else ''} skipped:")
        rows += [
            f"  {printable(s.source, newlines=False)}: {printable(s.reason, newlines=False)}"
            for s in skipped
        ]
    return "\n".join(rows)


def format_explain(n: int, passage: Passage, rows: Sequence[TermContribution]) -> str:
    """One line per query term: what it added to passage ``n``'s score."""
    out = [f"[{n}] {printable(passage.citation, newlines=False)}  score {passage.score:.4f}"]
    for row in rows:
        note = "" if row.tf else ("  (not in this passage)" if row.idf else "  (in no passage)")
        out.append(
            f"  {printable(row.term, newlines=False):<16} +{row.score:.4f}  tf={row.tf}  "
            f"idf={row.idf:.3f}  weight={row.weight:g}{note}"
        )
    out.append(f"  {'total':<16}  {sum(r.score for r in rows):.4f}")
    return "\n".join(out)


def format_lines(
    rows: Sequence[SourceLine] | None, color: bool, width: int | None = None
) -> str:
    """Numbered source lines, the ones the passage covers marked ``>``. Where the passage
    starts or ends mid-line, the cited span is marked too: the rest of the line dimmed on a
    colour terminal, else ``»`` where the span starts and ``«`` where it ends."""
    if rows is None:
        return "(the file cannot be read any more)"
    if not rows:
        return "(the file no longer has these lines)"
    digits = len(str(rows[-1][0]))
    out = []
    for number, text, span in rows:
        first = f"{'>' if span is not None else ' '} {number:>{digits}} | "
        more = " " * (len(first) - 2) + "| "  # a wrapped line's continuation
        start, end = span if span is not None else (0, len(text))
        before, cited, after = (
            printable(part, newlines=False) for part in (text[:start], text[start:end], text[end:])
        )
        if not color:
            before += "»" if before.strip() else ""
            after = ("«" if after.strip() else "") + after
        body = before + cited + after
        lo, hi = len(before), len(before) + len(cited)
        for i, (lead, a, b) in enumerate(_line_pieces(body, width, first)):
            lead = first if i == 0 else more + lead[len(first) :]
            if not color:
                out.append(lead + body[a:b])
            elif span is None:
                out.append(f"{DIM}{lead}{body[a:b]}{RESET}")
            else:
                cut_lo, cut_hi = min(max(lo, a), b), min(max(hi, a), b)
                head, inside, tail = body[a:cut_lo], body[cut_lo:cut_hi], body[cut_hi:b]
                out.append(
                    lead
                    + (f"{DIM}{head}{RESET}" if head else "")
                    + inside
                    + (f"{DIM}{tail}{RESET}" if tail else "")
                )
    return "\n".join(out)
