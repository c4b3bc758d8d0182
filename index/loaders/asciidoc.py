"""AsciiDoc: a careful reader of the common subset, line by line.

No well-kept, permissively licensed Python parser of AsciiDoc exists (asciidoc-py is GPL
and renders whole documents; asciidoctrine is an alpha pinned to one Lark release), so this
reads what documentation uses: ``=`` section titles (the level-0 one is the document's
title and the root of every heading path), attribute entries (``:name: value``: metadata,
and ``{name}`` references substituted), ``ifdef::``/``ifndef::``/``ifeval::``/``endif::``
lines dropped (their content kept), ``//`` and ``////`` comments dropped, ``----``,
``....`` and indented literal paragraphs as code, ``====``, ``****`` and ``____`` blocks
and ``NOTE:``/``TIP:`` (or ``[NOTE]``) admonitions as quotes, ``*``/``-``/``.`` lists and
``term::`` description lists, ``|===`` tables row by row, and links (``xref:``,
``link:``, ``https://...[text]``, ``{url}[text]``, ``<<id,text>>``) as their text.
Every piece of display text is anchored to its own source line.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from index.loaders.blocks import DocumentWriter, Segment, code_segments
from index.loaders.common import check_work, decode_text
from index.models import BlockKind, Document


def load(source: str, data: bytes) -> Document:
    return asciidoc_document(source, decode_text(data))


def asciidoc_document(source: str, text: str) -> Document:
    reader = _Reader(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    reader.read()
    return reader.writer.document(source, "asciidoc", reader.metadata)


# Attributes every document has (the built-in character replacements).
_BUILTIN = {
    "empty": "", "sp": " ", "nbsp": "\u00a0", "zwsp": "\u200b", "wj": "\u2060",
    "apos": "'", "quot": '"', "lsquo": "\u2018", "rsquo": "\u2019", "ldquo": "\u201c",
    "rdquo": "\u201d", "deg": "\u00b0", "plus": "+", "brvbar": "\u00a6", "vbar": "|",
    "amp": "&", "lt": "<", "gt": ">", "startsb": "[", "endsb": "]", "caret": "^",
    "asterisk": "*", "tilde": "~", "backslash": "\\", "backtick": "`",
    "two-colons": "::", "two-semicolons": ";;", "cpp": "C++", "pp": "++",
}  # fmt: skip

_ATTRIBUTE = re.compile(r":(!?)([\w][\w-]*)(!?):(?:\s+(.*?))?\s*$")
_CONDITIONAL = re.compile(r"(ifn?def|ifeval|endif)::([^\[]*)\[(.*)\]\s*$")
_SECTION = re.compile(r"(={1,6})\s+(\S.*?)(?:\s+=+)?\s*$")
_BLOCK_ATTRIBUTES = re.compile(r"\[[^\]\s][^\]]*\]\s*$|\[\[[^\]]+\]\]\s*$")
_BLOCK_TITLE = re.compile(r"\.([^\s.].*)$")
_LIST_ITEM = re.compile(r"\s*(\*{1,5}|-|\.{1,5}|\d+\.)\s+(\S.*)$")
_DESCRIPTION = re.compile(r"(?!//)(\S.*?)(:{2,4}|;;)(?:\s+(.*))?$")
_ADMONITION = re.compile(r"(NOTE|TIP|IMPORTANT|WARNING|CAUTION):\s+(.*)$")
_CHECKBOX = re.compile(r"\[[ xX*]\]\s+")
_MACRO_BLOCK = re.compile(r"(image|video|audio|include|toc)::([^\[]*)\[(.*)\]\s*$")
_BREAKS = {"'''", "<<<", "---", "- - -", "***", "* * *"}

# delimiter character → (kind, verbatim?)
_DELIMITED = {
    "-": ("code", True),
    ".": ("code", True),
    "+": ("paragraph", True),  # passthrough: its HTML's text
    "/": ("comment", True),
    "=": ("quote", False),  # example block (an admonition when styled [NOTE])
    "*": ("quote", False),  # sidebar
    "_": ("quote", False),  # quote block
}
_DELIMITER = re.compile(r"(-{4,}|\.{4,}|\+{4,}|/{4,}|={4,}|\*{4,}|_{4,}|--|```.*|\|===+)\s*$")


@dataclass
class _Pending:
    """Block attributes (``[source,ruby]``, ``[NOTE]``) waiting for the block they apply to."""

    style: str = ""
    options: set[str] = field(default_factory=set)
    subs: str = ""
    cols: str = ""


class _Reader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.attributes: dict[str, str] = dict(_BUILTIN)
        self.metadata: dict[str, str] = {}
        self.writer = DocumentWriter()
        self.pending = _Pending()
        # open compound blocks: (delimiter line, block kind) innermost last
        self.contexts: list[tuple[str, BlockKind]] = []
        # characters that attribute references added: ``:a: {a}{a}`` doubles a value per
        # line, so this counts against the per-file bound as the references are replaced
        self.expanded = 0

    # the whole document ---------------------------------------------------------------------

    def read(self) -> None:
        i = self._header()
        steps = 0
        while i < len(self.lines):
            i = self._block(i)
            steps += 1
            if steps % 1000 == 0:  # the per-file work bound (comments make no blocks)
                check_work(self.writer.length)

    def _header(self) -> int:
        """The document title and the header lines under it (author, revision, attribute
        entries) up to the first blank line: metadata, never text."""
        i = 0
        while i < len(self.lines) and self._skippable(self.lines[i]):
            self._directive(self.lines[i])
            i += 1
        if i >= len(self.lines):
            return i
        m = _SECTION.match(self.lines[i])
        if not m or len(m.group(1)) != 1:
            return i
        title = self._inline(m.group(2))
        self.metadata["title"] = title
        self.writer.heading(0, [(title, i)])
        i += 1
        people = 0
        while i < len(self.lines) and self.lines[i].strip():
            line = self.lines[i]
            if not self._directive(line) and not line.startswith("//"):
                key = ("author", "revision")[min(people, 1)]
                plain = " ".join(re.sub(r"\s*<[^>]*>", "", line).split())
                self.metadata.setdefault(key, self._inline(plain))
                people += 1
            i += 1
        return i

    def _skippable(self, line: str) -> bool:
        return not line.strip() or line.startswith("//") and not line.startswith("////") or bool(
            _ATTRIBUTE.match(line) or _CONDITIONAL.match(line)
        )

    def _directive(self, line: str) -> bool:
        """Apply an attribute entry or a conditional line; whether it was one."""
        m = _ATTRIBUTE.match(line)
        if m:
            name = m.group(2).lower()
            if m.group(1) or m.group(3):
                self.attributes.pop(name, None)
            else:
                value = self._substitute(m.group(4) or "")
                self.attributes[name] = value
                self.metadata[name] = value
            return True
        m = _CONDITIONAL.match(line)
        if m:
            # the content of a conditional stays (which readers it was for is unknown);
            # a one-line ifdef::x[:attr: value] sets the attribute when its test holds
            if m.group(3) and m.group(1) != "ifeval" and _ATTRIBUTE.match(m.group(3)):
                names = [n for n in re.split(r"[,+]", m.group(2)) if n]
                defined = any(n.lower() in self.attributes for n in names)
                if defined == (m.group(1) == "ifdef"):
                    self._directive(m.group(3))
            return True
        return False

    # one block --------------------------------------------------------------------------------

    def _block(self, i: int) -> int:
        line = self.lines[i]
        stripped = line.strip()
        if not stripped:
            return i + 1
        if self.contexts and stripped == self.contexts[-1][0]:
            self.contexts.pop()
            self.writer.last_container = None
            return i + 1
        if line.startswith("//") and not _DELIMITER.match(stripped):
            return i + 1
        if self._directive(line):
            return i + 1
        if _BLOCK_ATTRIBUTES.match(stripped) and not stripped.startswith("[["):
            self._block_attributes(stripped[1:-1])
            return i + 1
        if stripped.startswith("[[") and stripped.endswith("]]"):
            return i + 1
        if stripped in _BREAKS or stripped == "+":
            return i + 1
        m = _BLOCK_TITLE.match(line)
        if m and not _DELIMITER.match(stripped):
            self.writer.emit("paragraph", [(self._inline(m.group(1)), i)])
            return i + 1
        m = _SECTION.match(line)
        if m and not self.contexts:
            self.pending = _Pending()
            self.writer.heading(len(m.group(1)) - 1, [(self._inline(m.group(2)), i)])
            return i + 1
        m = _DELIMITER.match(stripped)
        if m and line == line.lstrip():
            return self._delimited(i, stripped)
        m = _MACRO_BLOCK.match(line)
        if m:
            if m.group(1) == "image":
                alt = _positional(self._substitute(m.group(3)))
                self.writer.emit(self._kind_of(self.pending, "paragraph"), [(alt, i)])
            self.pending = _Pending()
            return i + 1
        if _LIST_ITEM.match(line) or (_DESCRIPTION.match(line) and not line[0].isspace()):
            return self._list_item(i)
        if line[0].isspace() and self.pending.style not in ("normal",):
            return self._literal(i)
        return self._paragraph(i)

    def _block_attributes(self, text: str) -> None:
        parts = [p.strip() for p in re.findall(r'(?:"[^"]*"|[^,"])+', text)]
        pending = _Pending()
        first = parts[0] if parts else ""
        if first and "=" not in first:
            pending.style = re.split(r"[#.%]", first)[0].lower()
            pending.options.update(o.lower() for o in re.findall(r"%([\w-]+)", first))
        for part in parts:
            key, eq, value = part.partition("=")
            if not eq:
                continue
            key, value = key.strip().lower(), value.strip().strip("\"'")
            if key in ("options", "opts"):
                pending.options.update(v.strip().lower() for v in value.split(","))
            elif key == "subs":
                pending.subs = value
            elif key == "cols":
                pending.cols = value
        self.pending = pending

    def _delimited(self, i: int, delimiter: str) -> int:
        pending, self.pending = self.pending, _Pending()
        if delimiter.startswith("|"):
            return self._table(i, delimiter, pending)
        if delimiter.startswith("```"):
            kind, verbatim, closer = "code", True, "```"
        elif delimiter == "--":
            self.contexts.append((delimiter, self._kind_of(pending, "paragraph")))
            return i + 1
        else:
            kind, verbatim = _DELIMITED[delimiter[0]]
            closer = delimiter
        if not verbatim:
            kind = self._kind_of(pending, kind)  # type: ignore[arg-type]
            self.contexts.append((delimiter, kind))
            self.writer.last_container = None
            return i + 1
        end = i + 1
        while end < len(self.lines) and self.lines[end].rstrip() != closer:
            end += 1
        body = self.lines[i + 1 : end]
        if kind == "code":
            if "attributes" in pending.subs:
                body = [self._substitute(line) for line in body]
            self.writer.emit("code", code_segments(body, i + 1))
        elif kind == "paragraph":  # passthrough HTML: its text
            segments = [
                (" ".join(html.unescape(re.sub(r"<[^>]*>", " ", line)).split()) + "\n", i + 1 + n)
                for n, line in enumerate(body)
            ]
            self.writer.emit(self._kind_of(self.pending, "paragraph"), segments)
        return end + 1

    def _kind_of(self, pending: _Pending, default: BlockKind) -> BlockKind:
        if pending.style in ("note", "tip", "important", "warning", "caution", "quote", "verse"):
            return "quote"
        if pending.style in ("source", "listing", "literal"):
            return "code"
        if default == "paragraph" and self.contexts:
            return self.contexts[-1][1]
        return default

    def _literal(self, i: int) -> int:
        """An indented (literal) paragraph: code, its common indentation removed."""
        end = i
        while end < len(self.lines) and self.lines[end].strip():
            end += 1
        body = self.lines[i:end]
        indent = min(len(line) - len(line.lstrip()) for line in body)
        self.pending = _Pending()
        self.writer.emit("code", code_segments([line[indent:] for line in body], i))
        return end

    def _paragraph_lines(self, i: int, more: bool = False) -> tuple[list[tuple[str, int]], int]:
        """The lines of a paragraph from ``i``: up to a blank line, a delimiter or a new
        list item; comment and conditional lines inside are skipped. ``more``: the lines
        continue a list item (so even the first may not start a new block)."""
        lines: list[tuple[str, int]] = []
        end = i
        while end < len(self.lines):
            line = self.lines[end]
            stripped = line.strip()
            started = bool(lines) or more
            if not stripped or (started and _DELIMITER.match(stripped)):
                break
            if self.contexts and stripped == self.contexts[-1][0]:
                break
            if started and (
                _LIST_ITEM.match(line)
                or stripped == "+"
                or (more and (_DESCRIPTION.match(line) or _BLOCK_ATTRIBUTES.match(stripped)))
            ):
                break
            if line.startswith("//") or self._directive(line):
                end += 1
                continue
            lines.append((line, end))
            end += 1
        return lines, end

    def _paragraph(self, i: int) -> int:
        pending, self.pending = self.pending, _Pending()
        lines, end = self._paragraph_lines(i)
        if not lines:
            return max(end, i + 1)
        kind: BlockKind = self._kind_of(pending, "paragraph")
        if kind == "code":
            self.writer.emit("code", code_segments([text for text, _ in lines], i))
            return end
        first, line = lines[0]
        m = _ADMONITION.match(first)
        if m:
            kind = "quote"
            lines[0] = (m.group(2), line)
        self.writer.emit(kind, self._segments(lines))
        return end

    def _list_item(self, i: int) -> int:
        """A list item with the lines that continue it; a description list's term and
        description read ``term: description``."""
        line = self.lines[i]
        item = _LIST_ITEM.match(line)
        lines, end = self._paragraph_lines(i + 1, more=True)
        if item:
            lines.insert(0, (_CHECKBOX.sub("", item.group(2), count=1), i))
        else:
            term, _, description = _DESCRIPTION.match(line).groups()  # type: ignore[union-attr]
            if description:
                lines.insert(0, (f"{term}: {description}", i))
            elif lines:
                lines.insert(0, (f"{term}:", i))
            else:
                lines = [(term, i)]
        self.pending = _Pending()
        self.writer.emit("list_item", self._segments(lines))
        return end

    def _table(self, i: int, delimiter: str, pending: _Pending) -> int:
        """A ``|===`` table, one block per row: ``Header: value, Header: value``."""
        end = i + 1
        while end < len(self.lines) and self.lines[end].strip() != delimiter:
            end += 1
        cells: list[tuple[str, int]] = []
        first_row_cells = 0
        header_implicit = False
        for n in range(i + 1, end):
            line = self.lines[n]
            if not line.strip():
                if cells and not first_row_cells:
                    first_row_cells = len(cells)
                    header_implicit = all(c[1] == cells[0][1] for c in cells)
                continue
            if line.startswith("//"):
                continue
            pieces = re.split(r"(?<!\\)\|", line)
            if len(pieces) == 1:  # a cell's text continued
                if cells:
                    text, at = cells[-1]
                    cells[-1] = (f"{text} {line.strip()}", at)
                continue
            for piece in pieces[1:]:
                cells.append((piece.strip().replace("\\|", "|"), n))
            if not first_row_cells and n > i + 1 and cells and cells[0][1] != n:
                first_row_cells = len(cells) - (len(pieces) - 1)
        columns = _columns(pending.cols) or first_row_cells or (len(cells) or 1)
        rows = [cells[k : k + columns] for k in range(0, len(cells), columns)]
        header: list[str] = []
        if rows and ("header" in pending.options or header_implicit) and len(rows) > 1:
            header = [self._inline(text) for text, _ in rows.pop(0)]
        for row in rows:
            segments: list[Segment] = []
            for n, (text, at) in enumerate(row):
                value = self._inline(text)
                if not value:
                    continue
                head = header[n] if n < len(header) else ""
                piece = f"{head}: {value}" if head else value
                segments.append(((", " if segments else "") + piece, at))
            self.writer.emit("table_row", segments)
        return end + 1

    # inline text ---------------------------------------------------------------------------------

    def _segments(self, lines: list[tuple[str, int]]) -> list[Segment]:
        """A paragraph's lines as display text: joined by spaces, `` +`` a line break."""
        segments: list[Segment] = []
        for n, (text, line) in enumerate(lines):
            last = n == len(lines) - 1
            hard = text.rstrip().endswith(" +")
            if hard:
                text = text.rstrip()[:-2]
            piece = self._inline(text.strip())
            segments.append((piece + ("" if last else "\n" if hard else " "), line))
        return segments

    def _substitute(self, text: str) -> str:
        """``{name}`` references replaced by the attribute's value (unknown ones kept)."""
        if "{" not in text:
            return text
        for _ in range(3):  # a value may itself refer to another attribute
            new = _REFERENCE.sub(self._reference, text)
            if new == text:
                break
            text = new
        return text

    def _reference(self, m: re.Match[str]) -> str:
        if m.group(1):  # \{name} is the text {name}
            return m.group()[1:]
        value = self.attributes.get(m.group(2).lower())
        if value is None:
            return m.group()
        if len(value) > len(m.group()):
            self.expanded += len(value) - len(m.group())
            check_work(self.expanded)
        return value

    def _inline(self, text: str) -> str:
        """What a reader sees of a line: passthroughs kept as typed, attributes
        substituted, links as their text, formatting marks left out."""
        if not _MARKUP.search(text):
            return text
        kept: list[str] = []

        def keep(value: str) -> str:
            kept.append(value)
            return f"\x00{len(kept) - 1}\x00"

        text = _PASSTHROUGH.sub(lambda m: keep(next(g for g in m.groups() if g is not None)), text)
        text = self._substitute(text)
        text = _INLINE_ANCHOR.sub("", text)
        text = _XREF.sub(lambda m: keep(_link_text(m.group(2)) or _xref_name(m.group(1))), text)
        text = _CROSS_REF.sub(lambda m: keep(m.group(2) or m.group(1).replace("-", " ")), text)
        text = _IMAGE.sub(lambda m: keep(_positional(m.group(1))), text)
        text = _LINK.sub(lambda m: keep(_link_text(m.group(2)) or m.group(1)), text)
        text = _UI_MACRO.sub(lambda m: keep(m.group(1)), text)
        text = _FOOTNOTE.sub(lambda m: f" ({m.group(1)})", text)
        text = _BARE_URL.sub(lambda m: keep(m.group()), text)
        for pattern in _QUOTES:
            text = pattern.sub(r"\1", text)
        text = html.unescape(text) if "&" in text else text
        text = _ESCAPE.sub(r"\1", text)
        if kept:
            text = re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)
        return text


_MARKUP = re.compile(r"[{*_`#+^~\[<:&\\]|\(\(")
_REFERENCE = re.compile(r"(\\)?\{([\w][\w-]*)\}")
# Every pattern below scans at most to the next mark of its kind (never ".*?" to the end
# of the line), so a line of a million "[" or "*" is read in linear time.
_ROLE = r"(?:\[[\w.#%, -]{1,40}\])?"


def _unconstrained(mark: str) -> re.Pattern[str]:
    m = re.escape(mark[0])
    return re.compile(_ROLE + f"{m}{m}((?:[^{m}]|{m}(?!{m}))+?){m}{m}")


def _constrained(mark: str, before: str = "") -> re.Pattern[str]:
    m = re.escape(mark)
    return re.compile(
        rf"(?<![\w{m}\\{before}]){_ROLE}{m}([^{m}\s](?:[^{m}]*?[^{m}\s])?){m}(?![\w{m}])"
    )


_PASSTHROUGH = re.compile(
    r"\+\+\+((?:[^+]|\+(?!\+\+))+?)\+\+\+|(?<![\w+])\+\+((?:[^+]|\+(?!\+))+?)\+\+(?![\w+])"
    r"|(?<![\w+\\])\+([^+\s](?:[^+]*?[^+\s])?)\+(?![\w+])|pass:[a-z,]*\[([^\]]*)\]"
)
_INLINE_ANCHOR = re.compile(r"\[\[[\w:.-]+(?:,[^\]]*)?\]\]|\[#[\w:.-]+\]#?(?=\S)")
_XREF = re.compile(r"xref:([^\s\[]+)\[([^\]]*)\]")
_CROSS_REF = re.compile(r"<<([\w:./#-]+)(?:,\s*([^>]*))?>>")
_IMAGE = re.compile(r"image:(?!:)[^\s\[]+\[([^\]]*)\]")
_LINK = re.compile(
    r"(?:link:|mailto:)?((?:https?|ftp|irc|file|mailto):[^\s\[]*|link:[^\s\[]+"
    r"|[\w.+-]{1,64}@[\w.-]{1,255})\[([^\]]*)\]"
)
_UI_MACRO = re.compile(r"(?:kbd|btn):\[([^\]]*)\]")
_FOOTNOTE = re.compile(r"footnote:[\w-]*\[([^\]]*)\]")
_BARE_URL = re.compile(r"(?:https?|ftp|file)://[^\s<>\[\]]+")
_QUOTES = [
    _unconstrained("**"),
    _unconstrained("__"),
    _unconstrained("``"),
    _unconstrained("##"),
    _constrained("*"),
    _constrained("_"),
    _constrained("`"),
    _constrained("#", "&"),
    re.compile(r"(?<![\w\\])\^([^\s^]+)\^"),
    re.compile(r"(?<![\w\\~])~([^\s~]+)~(?!~)"),
]
_ESCAPE = re.compile(r"\\([*_`#+{\[<^~])")


def _positional(attrs: str) -> str:
    """The first positional attribute (an image's alt text), without quotes."""
    first = attrs.split(",")[0].strip() if attrs else ""
    return "" if "=" in first else first.strip("\"'")


def _link_text(attrs: str) -> str:
    """A link's text: its first attribute, without the ``^`` that opens a new window."""
    text = attrs.split(",")[0] if "=" in attrs else attrs
    return text.strip().strip('"').removesuffix("^").strip()


def _xref_name(target: str) -> str:
    page = target.rsplit(":", 1)[-1].split("#")[0].removesuffix(".adoc")
    return page.replace("-", " ").replace("_", " ")


def _columns(cols: str) -> int:
    """How many columns ``cols="1,2"`` or ``cols="3*"`` gives (0 when not given)."""
    if not cols:
        return 0
    m = re.fullmatch(r"\s*(\d+)\*.*", cols)
    if m:
        return int(m.group(1))
    return len([c for c in cols.split(",") if c.strip()])
