"""Pure functions that turn an Answer into terminal text or a JSON-ready dict."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from index.models import Answer, Passage, SourceInfo, TermContribution
from index.tokenize import token_spans

BOLD = "\033[1m"
DIM = "\033[2m"
YELLOW = "\033[33m"
RESET = "\033[0m"


def highlight(text: str, terms: Iterable[str], color: bool) -> str:
    """``text`` with the words whose stems are in ``terms`` in bold yellow (plain if not
    ``color``)."""
    wanted = set(terms)
    if not color or not wanted:
        return text
    out: list[str] = []
    last = 0
    for start, end, stem in token_spans(text):
        if stem in wanted:
            out.append(text[last:start])
            out.append(f"{BOLD}{YELLOW}{text[start:end]}{RESET}")
            last = end
    out.append(text[last:])
    return "".join(out)


def passage_header(n: int, passage: Passage) -> str:
    """``[n] SOURCE:FIRST-LAST — HEADING`` (the heading part only when there is one)."""
    head = f"[{n}] {passage.citation}"
    return f"{head} — {passage.heading}" if passage.heading else head


def format_passage(n: int, passage: Passage, color: bool) -> str:
    header = passage_header(n, passage)
    if color:
        header = f"{BOLD}{header}{RESET}"
    body = highlight(passage.text, passage.matched_terms, color)
    indented = "\n".join("    " + line for line in body.split("\n"))
    return f"{header}\n{indented}"


def format_answer(answer: Answer, color: bool = False) -> str:
    """The answer, then each passage with its citation, as ``docqa ask`` prints it."""
    lines = [answer.text]
    if answer.abstained and answer.passages:
        lines.append("Closest passages:" if not color else f"{DIM}Closest passages:{RESET}")
    blocks = ["\n".join(lines)]
    blocks += [format_passage(n, p, color) for n, p in enumerate(answer.passages, start=1)]
    return "\n\n".join(blocks)


def answer_json(answer: Answer) -> dict[str, Any]:
    """The ``--json`` object of ``docqa ask``."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "passages": [
            {
                "n": n,
                "source": p.source,
                "start_line": p.start_line,
                "end_line": p.end_line,
                "heading": p.heading,
                "score": p.score,
                "text": p.text,
            }
            for n, p in enumerate(answer.passages, start=1)
        ],
    }


def format_sources(sources: Sequence[SourceInfo]) -> str:
    if not sources:
        return "No documents are indexed."
    width = max(len(s.source) for s in sources)
    rows = [f"{s.source:<{width}}  {s.chunks} chunk{'s' if s.chunks != 1 else ''}" for s in sources]
    total = sum(s.chunks for s in sources)
    rows.append(f"{len(sources)} document{'s' if len(sources) != 1 else ''}, {total} chunks")
    return "\n".join(rows)


def format_explain(n: int, passage: Passage, rows: Sequence[TermContribution]) -> str:
    """One line per query term: what it added to passage ``n``'s score."""
    out = [f"[{n}] {passage.citation}  score {passage.score:.4f}"]
    for row in rows:
        note = "" if row.tf else ("  (not in this passage)" if row.idf else "  (in no passage)")
        out.append(
            f"  {row.term:<16} +{row.score:.4f}  tf={row.tf}  idf={row.idf:.3f}  "
            f"weight={row.weight:g}{note}"
        )
    out.append(f"  {'total':<16}  {sum(r.score for r in rows):.4f}")
    return "\n".join(out)


def format_lines(rows: Sequence[tuple[int, str, bool]], color: bool) -> str:
    """Numbered source lines; the cited ones marked with ``>``."""
    if not rows:
        return "(the file cannot be read any more)"
    width = len(str(rows[-1][0]))
    out = []
    for number, text, cited in rows:
        mark = ">" if cited else " "
        line = f"{mark} {number:>{width}} | {text}"
        out.append(line if cited or not color else f"{DIM}{line}{RESET}")
    return "\n".join(out)
