"""PDF: the text layer of every page, read with PDFium (pypdfium2), cleaned for reading.

Lines are counted within each page of the extracted text: PDFium's lines, with a line
break put back where PDFium removed one after an end-of-line hyphen and taken out where
it broke a line only because a superscript raised the baseline. The display text of a
page keeps those lines one for one (``Document.text`` split at ``PAGE_BREAK`` gives the
pages), so a citation's page and line numbers, ``:open`` and ``verify_citation`` agree.
Cleaning changes what stands on a line, never how many lines there are:

- Unicode NFKC (ligatures such as ``ﬁ`` become ``fi``), spaces collapsed;
- a word hyphenated across a line end is joined (``mag-`` / ``nitude`` → ``magnitude``)
  and moved wholly onto the first line, unless the document's own words say the hyphen is
  real (``pre-allocated``, ``BM25-style``);
- running headers and footers (lines repeated at the top or bottom of many pages, page
  numbers aside) and bare page numbers become empty lines, and so do the lines of a
  dotted-leader table of contents;
- superscript citation numbers glued to a word (``NumPy1, 2``) are removed when the font
  says they are superscripts (smaller and raised);
- ``•`` bullets are left out of list items.

Headings come from the PDF outline (bookmarks) where it has one, each matched to the line
of its page that carries its title; otherwise from lines clearly larger than the body
font, or short bold lines set apart like headings. Paragraphs are reassembled from the
wrapped lines by their spacing and indentation.

The work per file is bounded (``MAX_PAGES``, ``MAX_CHARS``, ``MAX_SECONDS``,
``MAX_STREAM_BYTES``): past a bound the file is skipped with a reason naming it. The
bounds are checked between pages; ``MAX_STREAM_BYTES`` keeps one page from taking long,
as PDFium cannot be interrupted inside a page.
"""

from __future__ import annotations

import ctypes
import re
import threading
import time
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from index.loaders.common import PAGE_BREAK, Anchor, Unreadable, line_anchors
from index.loaders.text import is_soft_break
from index.models import Block, BlockKind, Document


MAX_PAGES = 2_000
"""A PDF with more pages is skipped (a 2,000-page manual is about 5 million characters)."""
MAX_CHARS = 10_000_000
"""Reading stops, and the file is skipped, past this many extracted characters."""
MAX_SECONDS = 30.0
"""Reading stops, and the file is skipped, when it has taken longer (checked between
pages): a page of a decompression bomb can cost PDFium seconds."""
MAX_STREAM_BYTES = 64 * 2**20
"""A compressed stream that inflates past this is a decompression bomb: the file is
skipped before PDFium parses it (200 MB of page content took PDFium 22 s and 3 GB)."""

# PDFium is not thread-safe, not even across documents: one reader at a time per process
# (the live index may rebuild in a thread while :open reads a page).
_PDFIUM = threading.Lock()
_clock = time.monotonic  # a test may replace it to exercise MAX_SECONDS without waiting

# PDFium marks the hyphen of a word it joined across a line end with one of these.
_HYPHEN_MARKS = "\ufffe\x02"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")
# spacing accents that TeX places over a letter come out as lone characters ("Jyvaskyl ¨ a")
_LONE_ACCENT = re.compile(r"(?:(?<=\s)|^)[\u00a8\u00b4\u02c6\u02dc\u02d9\u00b8\u02da\u02dd\u02db\u02c7\u02d8\u00af]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_WORD = re.compile(r"[^\W\d_]+")
_COMPOUND = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)+")
# a note or citation mark after a word (or its closing punctuation), maybe set a space apart
_SUPERSCRIPT_RUN = re.compile(r"(?:(?<=[^\W\d_])|(?<=[)\].,;:])) ?(\d+(?:[,\u2013-] ?\d+)*)")
_PAGE_NUMBER = re.compile(
    r"(?i)^(?:page\s+)?(?:\d{1,4}|[ivxlc]{1,7})(?:\s*(?:/|of)\s*\d{1,4})?$|^[-\u2013\u2014]\s*\d{1,4}\s*[-\u2013\u2014]$"
)
_LEADER = re.compile(r"(?:\.\s?){4,}\s*\d{1,4}$|(?:\s\.){3,}\s*\d{1,4}$")
_TOC_ENTRY = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+|[A-Z][.)]\s+)?\S.{0,100}\s\d{1,4}$")
_TOC_TITLE = re.compile(r"(?i)^(?:table of )?contents$")
_BOLD_NAME = re.compile(r"(?i)bold|black|heavy|semibold|demi")
_BULLETS = "•◦▪‣●○■□∙"
_NUMBERED = re.compile(r"^(?:\(?\d{1,3}[.)]|\(?[a-z][.)]|\([ivx]{1,4}\))\s+\S")
# after these a hyphen is most often real, even when the document never writes the pair
# again ("pre-" + "allocated"); "re-" and "de-" are as often the start of one word
_PREFIXES = frozenset("anti cross multi non post pre self semi well".split())


@dataclass
class Line:
    """One extracted line of a page and what the font says about it (0 / None: unknown)."""

    text: str
    size: float = 0.0
    weight: int = 0
    bold_end: bool = False  # the last character's weight, for "the whole line is bold"
    x: float | None = None
    y: float | None = None


@dataclass(frozen=True)
class Bookmark:
    title: str
    level: int
    page: int  # 0-based


# --- reading --------------------------------------------------------------------------


def load(source: str, data: bytes) -> Document:
    """A PDF file: its pages' text with headings, paragraphs and list items."""
    bomb = _inflating_stream(data)
    if bomb:
        raise Unreadable(bomb)
    pages, outline = _read(data)
    doc = _document(source, pages, outline)
    if doc is None:
        raise Unreadable("PDF has no extractable text (scanned pages without a text layer?)")
    return doc


def pdf_document(source: str, pages: Sequence[str]) -> Document | None:
    """A Document from page texts (no font information): lines are counted within each
    page and cleaned as a PDF file's would be. None when there is no text."""
    lines = [[Line(line) for line in page.replace("\r\n", "\n").split("\n")] for page in pages]
    return _document(source, lines, [])


def _read(data: bytes) -> tuple[list[list[Line]], list[Bookmark]]:
    import pypdfium2 as pdfium

    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if getattr(exc, "err_code", None) == pdfium.raw.FPDF_ERR_PASSWORD:
                raise Unreadable("encrypted PDF (it needs a password)") from None
            raise Unreadable(f"unreadable PDF ({exc})") from None
        try:
            return _read_pages(pdf), _outline(pdf)
        finally:
            pdf.close()


def _read_pages(pdf: Any) -> list[list[Line]]:
    count = len(pdf)
    if count > MAX_PAGES:
        raise Unreadable(f"{count} pages, more than the {MAX_PAGES:,} pages docqa reads of a PDF")
    started = _clock()
    chars = 0
    pages: list[list[Line]] = []
    for index in range(count):
        page = pdf[index]
        try:
            textpage = page.get_textpage()
            try:
                chars += max(textpage.count_chars(), 0)
                if chars > MAX_CHARS:
                    raise Unreadable(
                        f"more than {MAX_CHARS:,} characters of text by page {index + 1} of "
                        f"{count}, the most docqa reads of a PDF"
                    )
                pages.append(_page_lines(textpage))
            finally:
                textpage.close()
        finally:
            page.close()
        if _clock() - started > MAX_SECONDS and index + 1 < count:
            raise Unreadable(
                f"reading took more than {MAX_SECONDS:g} s (stopped after page {index + 1} of "
                f"{count}), the most docqa spends on a PDF"
            )
    return pages


def _outline(pdf: Any) -> list[Bookmark]:
    marks: list[Bookmark] = []
    for mark in pdf.get_toc(max_depth=8):
        if len(marks) >= 5_000:
            break
        dest = mark.get_dest()
        page = dest.get_index() if dest is not None else None
        title = _squash(unicodedata.normalize("NFKC", mark.get_title() or ""))
        if page is not None and page >= 0 and title:
            marks.append(Bookmark(title, mark.level, page))
    return marks


def _inflating_stream(data: bytes) -> str | None:
    """A skip reason when a Flate-compressed stream inflates past ``MAX_STREAM_BYTES``."""
    view = memoryview(data)
    for match in re.finditer(rb"(?<!end)stream\r?\n", data):
        head = data[max(0, match.start() - 1024) : match.start()]
        head = head[head.rfind(b"obj") + 1 :]
        if b"/Image" in head:
            continue  # image data is not decoded to read text
        found = re.search(rb"/Filter\s*(\[[^\]]*\]|/\w+)", head)
        if not found:
            continue
        filters = re.findall(rb"/(\w+)", found.group(1))
        if not filters or any(f not in (b"FlateDecode", b"Fl") for f in filters):
            continue
        payload: bytes | memoryview = view[match.end() :]
        for _ in filters:
            inflater = zlib.decompressobj()
            try:
                payload = inflater.decompress(payload, MAX_STREAM_BYTES + 1)
            except zlib.error:
                break  # PDFium will say what is wrong with it, or skip the stream
            if len(payload) > MAX_STREAM_BYTES:
                return (
                    f"a compressed stream inflates to more than {MAX_STREAM_BYTES // 2**20} MB "
                    "(a decompression bomb?), the most docqa reads of one PDF stream"
                )
    return None


def _page_lines(textpage: Any) -> list[Line]:
    """The page's lines, with what the font says about each (see the module docstring)."""
    import pypdfium2.raw as c

    count = textpage.count_chars()
    raw = textpage.get_text_range(0, count) if count > 0 else ""
    if len(raw) != count:  # characters outside UCS-2: text without font information
        for mark in _HYPHEN_MARKS:
            raw = raw.replace(mark, "-\n")
        return [Line(t) for t in raw.replace("\r\n", "\n").split("\n")]

    ox, oy = ctypes.c_double(), ctypes.c_double()

    def size(i: int) -> float:
        return float(c.FPDFText_GetFontSize(textpage, i))

    def origin(i: int) -> tuple[float, float]:
        c.FPDFText_GetCharOrigin(textpage, i, ox, oy)
        return ox.value, oy.value

    name = ctypes.create_string_buffer(128)

    def weight(i: int) -> int:
        found = int(c.FPDFText_GetFontWeight(textpage, i))
        if found > 0:
            return found
        # a standard font has no descriptor to say it: read its name (Helvetica-Bold)
        c.FPDFText_GetFontInfo(textpage, i, name, len(name), None)
        return 700 if _BOLD_NAME.search(name.value.decode("latin-1")) else 400

    def raised_small(i: int, before: int) -> bool:
        return size(i) < 0.85 * size(before) and origin(i)[1] > origin(before)[1] + 0.1 * size(before)

    drop: set[int] = set()
    for m in _SUPERSCRIPT_RUN.finditer(raw):
        word = m.start() - 1
        if raised_small(m.start(1), word) and raised_small(m.end(1) - 1, word):
            drop.update(range(m.start(), m.end()))

    lines: list[Line] = []
    chars: list[str] = []
    indices: list[int] = []

    def end_line() -> None:
        kept = [i for i, ch in zip(indices, chars, strict=True) if not ch.isspace()]
        line = Line("".join(chars))
        if kept:
            first, last = kept[0], kept[-1]
            line.size = median((size(first), size(kept[len(kept) // 2]), size(last)))
            line.weight = weight(first)
            line.bold_end = weight(last) >= line.weight
            line.x, line.y = origin(first)
        lines.append(line)
        chars.clear()
        indices.clear()

    i = 0
    while i < count:
        ch = raw[i]
        if ch == "\r" and raw[i + 1 : i + 2] == "\n":
            if not _superscript_break(raw, i, size, origin):
                end_line()
            elif chars and i + 2 < count and (raw[i - 1].isalnum() or i - 1 in drop) and raw[i + 2].isalnum():
                chars.append(" ")
                indices.append(i)
            i += 2
            continue
        if ch in ",.;:)" and chars and chars[-1] == " " and i - 2 in drop:
            chars.pop()  # "shows¹ ², and": the space was the gap after the mark
            indices.pop()
        if i in drop:
            # "learn³and": the superscript stood for a space
            if i + 1 not in drop and i + 1 < count and raw[i + 1].isalpha() and chars and chars[-1].isalpha():
                chars.append(" ")
                indices.append(i)
            i += 1
            continue
        if ch in _HYPHEN_MARKS:
            chars.append("-")
            indices.append(i)
            end_line()
            i += 1
            continue
        chars.append(ch)
        indices.append(i)
        i += 1
    if chars or not lines:
        end_line()
    return lines


def _superscript_break(raw: str, at: int, size: Any, origin: Any) -> bool:
    """Whether PDFium's line break at ``at`` only separates a superscript (or subscript)
    from the rest of its line: a change of size, same baseline give or take, going right."""
    before, after = at - 1, at + 2
    if before < 0 or after >= len(raw) or raw[before] in "\r\n" or raw[after] in "\r\n ":
        return False
    s1, s2 = size(before), size(after)
    if min(s1, s2) >= 0.85 * max(s1, s2):
        return False
    (x1, y1), (x2, y2) = origin(before), origin(after)
    return bool(x2 > x1 and abs(y2 - y1) < 0.6 * max(s1, s2))


# --- cleaning -------------------------------------------------------------------------


def _squash(text: str) -> str:
    return " ".join(text.split())


def _clean_line(text: str) -> str:
    text = _CONTROL.sub("", text)
    text = _LONE_ACCENT.sub("", text)
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def _shape(text: str) -> str:
    """A line with its digits blurred, so that "v1.0 3" and "v1.0 4" are the same footer."""
    return re.sub(r"\d+", "#", text.casefold())


def _edges(lines: list[Line]) -> list[int]:
    """Indices of the first two and last two non-empty lines of a page, and of any line
    in the top or bottom margin (where PDFium puts them first or last depends on the
    order the page was drawn in)."""
    filled = [i for i, line in enumerate(lines) if line.text]
    picked = set(filled[:2] + filled[-2:])
    ys = [lines[i].y for i in filled if lines[i].y is not None]
    if ys:
        top, bottom = max(ys), min(ys)
        span = top - bottom
        for i in filled:
            y = lines[i].y
            if y is not None and span > 0 and (y >= top - 0.02 * span or y <= bottom + 0.02 * span):
                picked.add(i)
    return sorted(picked)


def _drop_furniture(pages: list[list[Line]]) -> None:
    """Empty the running headers and footers, bare page numbers and table-of-contents
    lines (in place)."""
    edges = [_edges(lines) for lines in pages]
    seen: Counter[str] = Counter()
    for lines, picked in zip(pages, edges, strict=True):
        seen.update({_shape(lines[i].text) for i in picked})
    repeated = max(3, int(0.4 * len(pages)) + 1)
    for lines, picked in zip(pages, edges, strict=True):
        numbers = {i for i in picked if _PAGE_NUMBER.match(lines[i].text)}
        running = {i for i in picked if seen[_shape(lines[i].text)] >= repeated and len(lines[i].text) <= 80}
        if all(i in numbers | running for i, line in enumerate(lines) if line.text):
            running = set()  # a page of one short line is that line, not a header
        for i in numbers | running:
            lines[i].text = ""
    toc_before = False
    for lines in pages:
        toc = sum(1 for line in lines if _LEADER.search(line.text)) >= 3
        for line in lines:
            text = line.text
            if not text:
                continue
            entry = _LEADER.search(text) or _TOC_ENTRY.match(text) or _TOC_TITLE.match(text)
            if not (toc or toc_before):
                break
            if not entry:
                if toc_before and not toc:
                    break  # the contents ended at the top of this page
                continue
            line.text = ""
        toc_before = toc


def _vocabulary(pages: list[list[Line]]) -> tuple[Counter[str], set[str]]:
    """The document's words and hyphenated compounds, leaving out the two halves of every
    word hyphenated at a line end (they are what is being decided)."""
    words: Counter[str] = Counter()
    compounds: set[str] = set()
    for lines in pages:
        for n, line in enumerate(lines):
            text = line.text
            if text.endswith("-"):
                text = text.rsplit(" ", 1)[0] if " " in text else ""
            if n and lines[n - 1].text.endswith("-"):
                text = text.split(" ", 1)[1] if " " in text else ""
            lowered = text.casefold()
            words.update(_WORD.findall(lowered))
            compounds.update(_COMPOUND.findall(lowered))
    return words, compounds


def _keeps_hyphen(head: str, tail: str, words: Counter[str], compounds: set[str]) -> bool:
    """Whether ``head-`` at a line end and ``tail`` at the next line's start are a real
    hyphenated compound rather than one word split by the typesetter."""
    if not (head.isalpha() and tail[:1].isalpha()):
        return True  # "BM25-" + "style", "10-" + "20"
    tail = re.match(r"[^\W\d_]+", tail).group(0)  # type: ignore[union-attr]
    h, t = head.casefold(), tail.casefold()
    if f"{h}-{t}" in compounds:
        return True
    if h + t in words:
        return False
    if tail[:1].isupper() or h in _PREFIXES:
        return True
    # "general-" + "purpose" when neither form occurs again: a whole known word before the
    # hyphen is more often a compound than a hyphenated word ("authenti-" + "cation")
    return (t in words and h in words) or (len(h) >= 4 and len(t) >= 4 and h in words)


def _join_hyphenated(lines: list[Line], words: Counter[str], compounds: set[str]) -> None:
    """Join words hyphenated across a line end, moving the whole word onto the first line."""
    for n in range(len(lines) - 1):
        line, nxt = lines[n], lines[n + 1]
        head = re.search(r"([^\s-]+)-$", line.text)
        word = re.match(r"\S+", nxt.text)
        if not head or not word:
            continue
        head_word = re.search(r"[^\W_]+$", head.group(1))
        keep = head_word is None or _keeps_hyphen(head_word.group(0), word.group(0), words, compounds)
        line.text = (line.text if keep else line.text[:-1]) + word.group(0)
        nxt.text = nxt.text[word.end() :].lstrip()


def _document(source: str, pages: list[list[Line]], outline: list[Bookmark]) -> Document | None:
    for lines in pages:
        for line in lines:
            line.text = _clean_line(line.text)
    _drop_furniture(pages)
    words, compounds = _vocabulary(pages)
    for lines in pages:
        _join_hyphenated(lines, words, compounds)
    headings = _outline_headings(pages, outline)
    if len(headings) < 2:
        headings = _font_headings(pages)

    text_parts: list[str] = []
    blocks: list[Block] = []
    anchors: list[Anchor] = []
    base = 0
    path: list[tuple[int, str]] = []
    for number, lines in enumerate(pages, start=1):
        display = [_display(line.text) for line in lines]
        page_text = "\n".join(display)
        if text_parts:
            text_parts.append(PAGE_BREAK)
            base += len(PAGE_BREAK)
        anchors.extend(line_anchors(page_text, page=number, base=base))
        offsets = [0]
        for shown in display:
            offsets.append(offsets[-1] + len(shown) + 1)
        for first, last, kind, title_level in _page_blocks(lines, display, headings.get(number - 1, {})):
            if kind == "heading":
                level, title = title_level
                path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
            start = base + offsets[first]
            end = base + offsets[last] + len(display[last])
            blocks.append(Block(start=start, end=end, kind=kind, heading_path=tuple(t for _, t in path)))
        text_parts.append(page_text)
        base += len(page_text)
    if not blocks:
        return None
    return Document(
        source=source,
        kind="pdf",
        text="".join(text_parts),
        blocks=tuple(blocks),
        anchors=tuple(anchors),
    )


def _display(text: str) -> str:
    """A line as shown: its bullet left out."""
    if text[:1] in _BULLETS:
        return text[1:].lstrip()
    return text


# --- headings ---------------------------------------------------------------------------

Headings = dict[int, dict[int, tuple[int, int, str]]]
"""page (0-based) → first line → (last line, level, title)."""


def _outline_headings(pages: list[list[Line]], outline: list[Bookmark]) -> Headings:
    """Each bookmark matched to the line (or two lines) of its page that carry its title,
    searching on from the previous match of that page."""
    found: Headings = {}
    after: dict[int, int] = {}
    for mark in outline:
        if mark.page >= len(pages):
            continue
        lines = pages[mark.page]
        want = mark.title.casefold()
        for n in range(after.get(mark.page, 0), len(lines)):
            text = lines[n].text.casefold()
            if not text:
                continue
            last = None
            if text == want:
                last = n
            elif want.startswith(text) and n + 1 < len(lines):
                if f"{text} {lines[n + 1].text.casefold()}" == want:
                    last = n + 1
            if last is not None:
                found.setdefault(mark.page, {})[n] = (last, mark.level + 1, mark.title)
                after[mark.page] = last + 1
                break
    return found


def _body_style(pages: list[list[Line]]) -> tuple[float, int]:
    """The font size and weight that most characters are set in."""
    sizes: Counter[float] = Counter()
    weights: Counter[int] = Counter()
    for lines in pages:
        for line in lines:
            if line.size:
                sizes[round(line.size * 2) / 2] += len(line.text)
                weights[line.weight] += len(line.text)
    if not sizes:
        return 0.0, 0
    return sizes.most_common(1)[0][0], weights.most_common(1)[0][0]


def _line_gap(lines: list[Line]) -> float:
    """The usual distance between the baselines of two lines of a paragraph."""
    gaps = [
        a.y - b.y
        for a, b in zip(lines, lines[1:])
        if a.y is not None and b.y is not None and a.text and b.text and 0 < a.y - b.y < 3 * max(a.size, 1)
    ]
    return median(gaps) if gaps else 0.0


def _font_headings(pages: list[list[Line]]) -> Headings:
    """Lines clearly larger than the body font (a heading level per size, larger first),
    then short bold lines of the body size set apart by space above them."""
    body, body_weight = _body_style(pages)
    if not body:
        return {}
    candidates: list[tuple[int, int, int, float]] = []  # page, first, last, size (0: bold)
    for p, lines in enumerate(pages):
        gap = _line_gap(lines)
        n = 0
        while n < len(lines):
            line = lines[n]
            if not _looks_like_title(line.text):
                n += 1
                continue
            if line.size >= 1.15 * body:
                last = n
                while (
                    last + 1 < len(lines)
                    and lines[last + 1].text
                    and abs(lines[last + 1].size - line.size) < 0.25
                    and len(" ".join(l.text for l in lines[n : last + 2])) <= 150
                ):
                    last += 1
                title = " ".join(l.text for l in lines[n : last + 1])
                if title.count(",") <= 2 and not title.endswith((".", ",")):
                    candidates.append((p, n, last, round(line.size * 2) / 2))
                n = last + 1
                continue
            above = lines[n - 1] if n else None
            below = next((l for l in lines[n + 1 :] if l.text), None)
            if (
                abs(line.size - body) < 0.5
                and line.weight >= body_weight + 150
                and line.bold_end
                and len(line.text) <= 60
                and not line.text.endswith((".", ",", ":", ";"))
                and (line.text[:1].isupper() or line.text[:1].isdigit())
                and gap
                and line.y is not None
                and (above is None or not above.text or (above.y is not None and above.y - line.y > 1.3 * gap))
                # a heading leads into body text, unlike the labels of a figure
                and below is not None
                and len(below.text) >= 30
                and below.weight < body_weight + 150
            ):
                candidates.append((p, n, n, 0.0))
            n += 1
    if len(candidates) >= 2:
        (p1, f1, l1, s1), (p2, f2, l2, s2) = candidates[:2]
        after = next((l.text for l in pages[p2][l2 + 1 :] if l.text), "")
        subtitle = not pages[p2][f2].text[:1].isdigit() and len(after) < 30
        if p1 == p2 and l1 + 1 == f2 and s1 > s2 > 0 and subtitle:
            # a title and its subtitle ("Disruptor:" / "High performance alternative ...")
            candidates[:2] = [(p1, f1, l2, s1)]
    sizes = sorted({s for *_, s in candidates if s}, reverse=True)
    level = {s: i + 1 for i, s in enumerate(sizes)}
    found: Headings = {}
    for p, first, last, s in candidates:
        title = " ".join(line.text for line in pages[p][first : last + 1])
        found.setdefault(p, {})[first] = (last, level.get(s, len(sizes) + 1), _display(title))
    return found


def _looks_like_title(text: str) -> bool:
    return bool(text) and len(text) <= 150 and any(ch.isalpha() for ch in text) and text[:1] not in _BULLETS


# --- blocks -----------------------------------------------------------------------------


def _page_blocks(
    lines: list[Line], display: list[str], headings: dict[int, tuple[int, int, str]]
) -> Iterator[tuple[int, int, BlockKind, tuple[int, str]]]:
    """The page's blocks as ``(first line, last line, kind, (level, title))``."""
    gap = _line_gap(lines)
    first: int | None = None
    kind: BlockKind = "paragraph"
    n = 0
    while n < len(lines):
        if n in headings:
            if first is not None:
                yield first, n - 1, kind, (0, "")
                first = None
            last, level, title = headings[n]
            yield n, last, "heading", (level, title)
            n = last + 1
            continue
        text = lines[n].text
        if not display[n]:
            if first is not None:
                yield first, n - 1, kind, (0, "")
                first = None
            n += 1
            continue
        starts_item = text[:1] in _BULLETS or bool(_NUMBERED.match(text))
        if first is not None and (starts_item or not _continues(lines, first, n, kind, gap)):
            yield first, n - 1, kind, (0, "")
            first = None
        if first is None:
            first, kind = n, "list_item" if starts_item else "paragraph"
        n += 1
    if first is not None:
        yield first, len(lines) - 1, kind, (0, "")


def _continues(lines: list[Line], first: int, n: int, kind: BlockKind, gap: float) -> bool:
    """Whether line ``n`` goes on with the block that started at line ``first``."""
    prev, line = lines[n - 1], lines[n]
    if gap and prev.y is not None and line.y is not None and prev.x is not None and line.x is not None:
        step = prev.y - line.y
        if not 0 < step < 1.3 * gap or abs(line.size - prev.size) > 0.15 * max(prev.size, 1):
            return False
        if kind == "list_item":
            return line.x > (lines[first].x or 0) + 0.5
        # an indented first line opens a new paragraph
        return not line.x > prev.x + 0.8 * max(line.size, 1)
    return is_soft_break(prev.text, line.text)
