"""Markdown: the page as a person reads it, every character anchored to its source line.

markdown-it-py parses the file (its block tokens carry source line maps); the display text
keeps what the rendered page shows: inline markup, link targets, image URLs, HTML tags and
entities, list bullets and table pipes are left out, code keeps its line breaks and
indentation, and a blank line separates blocks. Each block is typed (see
``index.models.Block``) and carries its heading path.

Before parsing, what is not Markdown is blanked out line for line, so every line number
stays the file's own: YAML (``---``) or TOML (``+++``) front matter, which becomes the
document's ``metadata`` and, through its ``title``, the root of every heading path; and
Hugo shortcodes (``{{< tabs >}}``, ``{{% note %}}``, ``{{< relref "..." >}}``), whose
content stays. ``index.loaders.mdx`` blanks MDX's ESM and JSX the same way.
"""

from __future__ import annotations

import bisect
import datetime
import html
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from index.loaders.blocks import DocumentWriter, Segment, code_segments, text_of
from index.loaders.common import Unreadable, check_work, decode_text
from index.loaders.mdinline import display_segments, plain_segments
from index.models import BlockKind, Document

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

# Deeper nesting than this is cut by markdown-it (its content is left out), which keeps a
# pathological file from exhausting the stack; real documents nest a handful of levels.
MAX_NESTING = 40
# Longer inline text than this that needs markdown-it's inline parser (HTML, entities,
# escapes...) is shown as typed: that parser is quadratic on some inputs ("[[[[..."),
# and no real paragraph is this long.
MAX_PARSED_INLINE = 20_000
# Front matter past these bounds skips the file: YAML aliases share one node however often
# they are used, so 450 bytes of them (``&a [*b, *b, ...]`` on nine lines) flatten to 9**9
# values (minutes and gigabytes at every start); nesting past Python's stack raised
# RecursionError.
MAX_FRONT_MATTER_CHARS = 1_000_000
MAX_FRONT_MATTER_DEPTH = 50


@dataclass
class Prepared:
    """A file's text ready for markdown-it: same lines, non-Markdown parts blanked.

    ``quotes`` are 0-based inclusive line ranges whose paragraphs are admonitions (Hugo
    ``{{% note %}}``, MDX ``<Note>``); ``labels`` are ``(line, text)`` pieces of display
    text that no Markdown token carries (a Hugo tab's name).
    """

    lines: list[str]
    quotes: list[tuple[int, int]] = field(default_factory=list)
    labels: list[tuple[int, str]] = field(default_factory=list)


Preparer = Callable[[Prepared, list[bool]], None]

# Hugo shortcodes and MDX components that stand for an admonition (their content is a quote)
ADMONITIONS = frozenset(
    "note warning tip info caution danger important hint callout alert admonition notice "
    "attention".split()
)


def load(source: str, data: bytes) -> Document:
    return markdown_document(source, decode_text(data))


def markdown_document(
    source: str, text: str, *, kind: str = "markdown", prepare: Preparer | None = None
) -> Document:
    """A Document from Markdown text; ``prepare`` blanks what is not Markdown (Hugo
    shortcodes by default; ``index.loaders.mdx`` passes its own for ESM and JSX)."""
    prepared = Prepared(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    metadata, title_line = front_matter(prepared.lines)
    fenced = fenced_lines(prepared.lines)
    (prepare or strip_shortcodes)(prepared, fenced)
    source_text = "\n".join(prepared.lines)
    parser = _parser(kind == "mdx", source_text)
    env: dict[str, Any] = {}
    check_work()
    tokens = parser.parse(source_text, env)
    check_work()
    title = metadata.get("title", "").strip()
    writer = _Writer(prepared, _InlineReader(parser, env))
    writer.walk(tokens, (title, title_line) if title else None)
    return writer.document(source, kind, metadata)


# --- the parser ---------------------------------------------------------------------------

_PARSERS: dict[tuple[bool, frozenset[str]], MarkdownIt] = {}

# Block rules that can only match where their mark is in the text. A rule that cannot
# match changes nothing, yet markdown-it tries it at every line (and again at every line
# of a paragraph, to see whether it ends there): leaving it out of the parser for a
# document without its mark makes the same tokens in much less time.
_RULE_MARKS = {
    "table": re.compile(r"\|"),
    "lheading": re.compile(r"^[ \t>]*(?:=+|-+)[ \t]*$", re.MULTILINE),
    "admonition": re.compile(r"^[ \t>]*(?:!!!|\?\?\?)", re.MULTILINE),
    "deflist": re.compile(r"^[ \t>]*[:~][ \t]", re.MULTILINE),
    "html_block": re.compile(r"<"),
    "blockquote": re.compile(r">"),
    "fence": re.compile(r"```|~~~"),
    "hr": re.compile(r"^[ \t>]*(?:[-*_][ \t]*){3,}$", re.MULTILINE),
    "heading": re.compile(r"#"),
    "reference": re.compile(r"^[ \t>]*\[", re.MULTILINE),
}


def _parser(mdx: bool, text: str) -> MarkdownIt:
    """markdown-it with tables, strikethrough, ``!!!`` admonitions and definition lists
    (less the rules ``text`` has no mark for), built once per flavour and rule set.
    Imported here, not at the top, so that answering from a saved index never imports
    it. MDX has no indented code and no HTML (its tags are JSX)."""
    unused = frozenset(rule for rule, mark in _RULE_MARKS.items() if not mark.search(text))
    parser = _PARSERS.get((mdx, unused))
    if parser is None:
        from markdown_it import MarkdownIt
        from mdit_py_plugins.admon import admon_plugin
        from mdit_py_plugins.deflist import deflist_plugin

        parser = MarkdownIt("commonmark", {"html": not mdx, "maxNesting": MAX_NESTING})
        parser.enable(["table", "strikethrough"]).use(admon_plugin).use(deflist_plugin)
        # inline content is read on demand (_InlineReader): most of it needs no tokens
        parser.disable(["inline", *unused, *(["code"] if mdx else [])])
        for rule in parser.block.ruler.__rules__:
            if rule.name in _FIRST_CHARS:
                rule.fn = _gated(rule.fn, _FIRST_CHARS[rule.name], 0)
            elif rule.name == "table":
                rule.fn = _gated(rule.fn, "|-:", 1)
            elif rule.name == "code":
                rule.fn = _indented(rule.fn)
        parser.block.ruler.__cache__ = None
        _PARSERS[(mdx, unused)] = parser
    return parser


# The characters a line must start with (after its indentation and container marks) for
# a block rule to match it; "table" looks at the line below, its delimiter row.
_FIRST_CHARS = {
    "fence": "`~",
    "blockquote": ">",
    "hr": "*-_",
    "list": "*-+0123456789",
    "html_block": "<",
    "heading": "#",
    "reference": "[",
    "admonition": "!?",
}

BlockRule = Callable[..., bool]


def _indented(rule: BlockRule) -> BlockRule:
    """The indented-code rule, tried only on a line indented as code (its own test)."""

    def gated(state: Any, startLine: int, endLine: int, silent: bool) -> bool:
        if state.sCount[startLine] - state.blkIndent < 4:
            return False
        return rule(state, startLine, endLine, silent)

    return gated


# markdown-it's parse is one call, and some files make it slow (each line of a quote
# nested 40 deep is read 40 times): the gated rules, which it calls at every line, check
# the per-file work bound every 4,096 calls, so such a file stops at the bound
_CHECK_MASK = 4095
_calls = [0]


def _gated(rule: BlockRule, chars: str, below: int) -> BlockRule:
    """``rule``, tried only when line ``startLine + below`` starts with one of ``chars``.
    Each rule checks that first thing itself; markdown-it calls every rule at every line
    start and every paragraph line, and skipping the call saves a fifth of its time."""

    def gated(state: Any, startLine: int, endLine: int, silent: bool) -> bool:
        _calls[0] += 1
        if not _calls[0] & _CHECK_MASK:
            check_work()
        line = startLine + below
        if line >= endLine:
            return False
        pos = state.bMarks[line] + state.tShift[line]
        if pos >= state.eMarks[line] or state.src[pos] not in chars:
            return False
        return rule(state, startLine, endLine, silent)

    return gated


# --- before parsing: front matter, fences, shortcodes ----------------------------------------

_FM_DELIMITERS = {"---": ("---", "..."), "+++": ("+++",)}
_KEY_LINE = re.compile(r"[\w.-]+\s*[:=]")


def front_matter(lines: list[str]) -> tuple[dict[str, str], int]:
    """Read and blank the YAML (``---``) or TOML (``+++``) front matter at the top of
    ``lines``; returns its fields as strings and the 0-based line of its ``title``."""
    opener = lines[0].rstrip() if lines else ""
    closers = _FM_DELIMITERS.get(opener)
    if closers is None:
        return {}, 0
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in closers), None)
    if end is None:
        return {}, 0
    body = "\n".join(lines[1:end])
    try:
        data = tomllib.loads(body) if opener == "+++" else yaml.load(body, Loader=_YamlLoader)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, ValueError):
        data = None
    except RecursionError:
        raise Unreadable(_too_deep()) from None
    _check_expanded(data)
    if not isinstance(data, dict) and not _KEY_LINE.match(body.lstrip()):
        return {}, 0  # "---" was a thematic break, not front matter
    metadata: dict[str, str] = {}
    if isinstance(data, dict):  # invalid but keyed front matter is still never text
        _flatten(data, "", metadata)
    key = re.compile(r"title\s*[:=]")
    title_line = next((i for i in range(1, end) if key.match(lines[i])), 1)
    for i in range(end + 1):
        lines[i] = ""
    return metadata, title_line


_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _too_deep() -> str:
    return f"front matter nested more than {MAX_FRONT_MATTER_DEPTH} levels deep"


def _check_expanded(data: Any) -> None:
    """Unreadable when the front matter, flattened, would hold more than
    ``MAX_FRONT_MATTER_CHARS`` characters, nest deeper than ``MAX_FRONT_MATTER_DEPTH`` or
    hold itself. Counted without flattening: each container once (an alias is the same
    object again), iteratively (no recursion to run out of)."""
    size: dict[int, int] = {}  # id of a finished container -> characters it flattens to
    open_ids: set[int] = set()  # containers being counted: the path from the top
    stack: list[tuple[Any, int, bool]] = [(data, 1, False)]
    while stack:
        value, depth, children_counted = stack.pop()
        children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        if children_counted:
            open_ids.discard(id(value))
            total = sum(
                size[id(c)] if isinstance(c, (dict, list, tuple)) else len(str(c)) + 2
                for c in children
            )
            if total > MAX_FRONT_MATTER_CHARS:
                raise Unreadable(
                    f"front matter of more than {MAX_FRONT_MATTER_CHARS:,} characters once "
                    "its YAML aliases are expanded (an alias bomb?)"
                )
            size[id(value)] = total
            continue
        if not isinstance(value, (dict, list, tuple)) or id(value) in size:
            continue
        if depth > MAX_FRONT_MATTER_DEPTH:
            raise Unreadable(_too_deep())
        open_ids.add(id(value))
        stack.append((value, depth, True))
        for child in children:
            if isinstance(child, (dict, list, tuple)):
                if id(child) in open_ids:
                    raise Unreadable("front matter holds itself (a YAML alias inside its anchor)")
                stack.append((child, depth + 1, False))


def _flatten(value: Any, key: str, out: dict[str, str]) -> None:
    """Front matter as flat strings: nested keys dotted (``menu.docs.weight``), lists
    joined with ", "."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{key}.{k}" if key else str(k), out)
    elif key:
        out[key] = _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(_scalar(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items())
    return str(value)


_FENCE = re.compile(r"(?:[ \t]*>)*[ \t]*(`{3,}|~{3,})(.*)")


def fenced_lines(lines: list[str]) -> list[bool]:
    """Which lines belong to a fenced code block (its fences included), found the way
    markdown-it finds them, so that nothing inside a fence is taken for a shortcode, JSX
    or ESM. (Indentation is not checked: a fence inside a list item counts too.)"""
    inside = [False] * len(lines)
    fence = ""
    for i, line in enumerate(lines):
        if not fence and "```" not in line and "~~~" not in line:
            continue
        m = _FENCE.match(line)
        if fence:
            inside[i] = True
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                if not m.group(2).strip():
                    fence = ""
        elif m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
            fence = m.group(1)
            inside[i] = True
    return inside


_SHORTCODE = re.compile(
    r"\{\{(?P<d>[<%])-?\s*(?P<close>/)?\s*(?P<name>[\w./-]*)(?P<args>[^{}]*?)-?\s*[>%]\}\}",
    re.DOTALL,
)
_ARG = re.compile(r"""(?:([\w-]+)\s*=\s*)?(?:"([^"]*)"|'([^']*)'|`([^`]*)`|([^\s"'`]+))""")


def strip_shortcodes(prepared: Prepared, fenced: list[bool]) -> None:
    """Blank Hugo shortcodes outside code fences, keeping what they wrap; an admonition
    shortcode (``{{% note %}}``...``{{% /warning %}}``: any admonition's closer ends the
    innermost one) marks its lines as a quote, and a tab's name becomes a label."""
    lines = prepared.lines
    if not any("{{" in line for line in lines):
        return
    open_admonitions: list[int] = []
    tab_names: dict[str, str] = {}
    tab_order: list[str] = []
    tab_count = 0
    i = 0
    while i < len(lines):
        if fenced[i] or "{{" not in lines[i]:
            i += 1
            continue
        # a shortcode's arguments may run over a few lines
        last = i
        while (
            last + 1 < len(lines)
            and last - i < 20
            and not fenced[last + 1]
            and _unclosed(lines[i : last + 1])
        ):
            last += 1
        joined = "\n".join(lines[i : last + 1])
        line, counted = i, 0
        for m in _SHORTCODE.finditer(joined):
            line += joined.count("\n", counted, m.start())
            counted = m.start()
            name = m.group("name").lower()
            if name in ADMONITIONS:
                if m.group("close"):
                    if open_admonitions:
                        prepared.quotes.append((open_admonitions.pop(), line))
                else:
                    open_admonitions.append(line)
            elif name == "tabs" and not m.group("close"):
                tab_names, tab_order = _tabs(m.group("args"))
                tab_count = 0
            elif name == "tab" and not m.group("close"):
                label = _tab_label(m.group("args"), tab_names, tab_order, tab_count)
                tab_count += 1
                if label:
                    prepared.labels.append((line, label))
        if "{{" in joined:
            stripped = _SHORTCODE.sub(_blank_shortcode, joined)
            pieces = stripped.split("\n")
            lines[i : last + 1] = [p if p.strip() else "" for p in pieces]
        i = last + 1
    for start in open_admonitions:
        prepared.quotes.append((start, len(lines) - 1))
    prepared.quotes.sort()


def _blank_shortcode(m: re.Match[str]) -> str:
    # a link's destination ([text]({{< relref "x" >}} "title")) becomes an empty one
    if m.string.endswith("](", 0, m.start()):
        return "<>"
    return "\n" * m.group().count("\n")


def _unclosed(lines: list[str]) -> bool:
    text = "\n".join(lines)
    return text.count("{{") > text.count("}}")


def _args(args: str) -> tuple[dict[str, str], list[str]]:
    named: dict[str, str] = {}
    positional: list[str] = []
    for m in _ARG.finditer(args):
        value = next((g for g in m.groups()[1:] if g is not None), "")
        if m.group(1):
            named[m.group(1).lower()] = value
        else:
            positional.append(value)
    return named, positional


def _tabs(args: str) -> tuple[dict[str, str], list[str]]:
    """A tabs shortcode's tab names by tab id (``tabID1="x" tabName1="X"``), and its
    names in order (``items="A,B"`` or the numbered names)."""
    named, _ = _args(args)
    by_id: dict[str, str] = {}
    order: list[str] = []
    for key, value in sorted(named.items()):
        number = key.removeprefix("tabname")
        if number != key:
            order.append(value)
            tab_id = named.get(f"tabid{number}")
            if tab_id:
                by_id[tab_id] = value
    if "items" in named:
        order = [item.strip() for item in named["items"].split(",")]
    return by_id, order


def _tab_label(args: str, by_id: dict[str, str], order: list[str], index: int) -> str:
    named, positional = _args(args)
    for key in ("name", "title", "header", "label", "tabname"):
        if named.get(key):
            return named[key]
    if positional:
        return positional[0]
    tab_id = named.get("tabid") or named.get("id")
    if tab_id and tab_id in by_id:
        return by_id[tab_id]
    return order[index] if index < len(order) else ""


# --- after parsing: tokens to display text -----------------------------------------------------

_ALERT = re.compile(r"\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*", re.IGNORECASE)
_TASK = re.compile(r"\[[ xX]\]\s+")
_CONTAINERS = {
    "list_item_open": "list_item",
    "blockquote_open": "quote",
    "admonition_open": "quote",
    "dd_open": "paragraph",
}
_CLOSERS = {"list_item_close", "blockquote_close", "admonition_close", "dd_close"}


class _Writer(DocumentWriter):
    """Walks markdown-it's tokens and writes the display text, blocks and anchors."""

    def __init__(self, prepared: Prepared, inline: _InlineReader) -> None:
        super().__init__()
        self.inline = inline
        # the admonitions' line ranges (they may nest) as sorted starts, each with the
        # furthest end of the ranges starting there or before: one lookup per paragraph
        # (a scan of every range per paragraph made a page of admonitions quadratic)
        quotes = sorted(prepared.quotes)
        self.quote_starts = [start for start, _ in quotes]
        self.quote_ends: list[int] = []
        for _, end in quotes:
            self.quote_ends.append(max(end, self.quote_ends[-1] if self.quote_ends else end))
        self.labels = sorted(prepared.labels)

    def emit(self, kind: BlockKind, segments: list[Segment], container: int | None = None) -> None:
        # a label (a tab's name) stands before the first block below its line
        first = None
        if self.labels:
            first = next((line for text, line in segments if text.strip()), None)
        while self.labels and first is not None and self.labels[0][0] < first:
            line, label = self.labels.pop(0)
            super().emit("paragraph", [(label, line)])
        super().emit(kind, segments, container)

    def in_quote(self, line: int) -> bool:
        i = bisect.bisect_right(self.quote_starts, line)
        return i > 0 and self.quote_ends[i - 1] >= line

    # walking ------------------------------------------------------------------------------

    def walk(self, tokens: list[Token], title: tuple[str, int] | None) -> None:
        title_heading = -1  # the index of a first "#" heading that repeats the title
        if title is not None:
            text, line = title
            first = next((n for n, t in enumerate(tokens) if t.type == "heading_open"), -1)
            if first >= 0 and tokens[first].tag == "h1":
                if _squash(text_of(self.inline(tokens[first + 1]))) == _squash(text):
                    title_heading = first
            if title_heading < 0:
                self.heading(0, [(text, line)])
            else:  # that heading shows the title, and stays the root of every path
                self.path = [(0, " ".join(text.split()))]
        containers: list[tuple[str, int]] = []  # (kind, token index) innermost last
        table: _Table | None = None
        i = 0
        while i < len(tokens):
            token = tokens[i]
            kind = token.type
            if kind in _CONTAINERS:
                containers.append((_CONTAINERS[kind], i))
            elif kind in _CLOSERS:
                if containers:
                    containers.pop()
            elif kind == "heading_open":
                if i == title_heading:
                    self.emit("heading", self.inline(tokens[i + 1]))
                else:
                    self.heading(int(token.tag[1:]), self.inline(tokens[i + 1]))
                i += 2
            elif kind == "paragraph_open":
                segments = self.inline(tokens[i + 1])
                block_kind: BlockKind = "paragraph"
                container = None
                if containers and containers[-1][0] != "paragraph":
                    block_kind = containers[-1][0]  # type: ignore[assignment]
                    container = containers[-1][1]
                    if block_kind == "quote" and tokens[i - 1].type == "blockquote_open":
                        segments = _strip_marker(segments, _ALERT)
                    elif block_kind == "list_item" and tokens[i - 1].type == "list_item_open":
                        segments = _strip_marker(segments, _TASK)
                if block_kind == "paragraph" and token.map and self.in_quote(token.map[0]):
                    block_kind = "quote"
                self.emit(block_kind, segments, container)
                i += 2
            elif kind == "admonition_title_open":
                # a title typed after the type (!!! note "Title") is text; the default is not
                opener = tokens[i - 1]
                if opener.info.strip().partition(" ")[2]:
                    self.emit("quote", self.inline(tokens[i + 1]), i - 1)
                i += 2
            elif kind == "dt_open":
                self.emit("paragraph", self.inline(tokens[i + 1]))
                i += 2
            elif kind in ("fence", "code_block"):
                self.emit("code", _code_segments(token))
            elif kind == "html_block":
                block_kind = "quote" if containers and containers[-1][0] == "quote" else "paragraph"
                if token.map and self.in_quote(token.map[0]):
                    block_kind = "quote"
                self.emit(block_kind, _html_segments(token))
            elif kind == "table_open":
                table = _Table()
            elif table is not None:
                if kind == "tbody_open":
                    table.body = True
                elif kind == "tr_open":
                    table.cells = []
                    table.line = token.map[0] if token.map else 0
                elif kind == "inline":
                    table.cells.append(text_of(self.inline(token)).strip())
                elif kind == "tr_close":
                    if table.body:
                        self.emit("table_row", [(table.row(), table.line)])
                        table.rows += 1
                    else:
                        table.header, table.header_line = table.cells, table.line
                elif kind == "table_close":
                    if not table.rows and any(table.header):
                        cells = ", ".join(c for c in table.header if c)
                        self.emit("table_row", [(cells, table.header_line)])
                    table = None
            if kind.endswith("_close") or kind in ("fence", "code_block", "html_block", "hr"):
                if kind not in ("list_item_close", "paragraph_close") and table is None:
                    self.last_container = None
            i += 1
        while self.labels:
            line, label = self.labels.pop(0)
            DocumentWriter.emit(self, "paragraph", [(label, line)])


@dataclass
class _Table:
    body: bool = False
    cells: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    line: int = 0
    header_line: int = 0
    rows: int = 0

    def row(self) -> str:
        """``Header: value, Header: value``; an empty cell is left out, a cell under an
        empty header is its value alone."""
        pairs = []
        for n, value in enumerate(self.cells):
            if not value:
                continue
            head = self.header[n] if n < len(self.header) else ""
            pairs.append(f"{head}: {value}" if head else value)
        return ", ".join(pairs)


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def _strip_marker(segments: list[Segment], marker: re.Pattern[str]) -> list[Segment]:
    """Segments without a leading marker (``[!NOTE]`` of a GitHub alert, ``[ ]`` of a task)."""
    if segments:
        text, line = segments[0]
        m = marker.match(text.lstrip())
        if m:
            return [(text.lstrip()[m.end() :], line), *segments[1:]]
    return segments


class _InlineReader:
    """The display text of inline tokens, cut where the source line changes: directly
    when ``mdinline`` can, else from markdown-it's inline tokens."""

    def __init__(self, parser: MarkdownIt, env: dict[str, Any]) -> None:
        self.parser = parser
        self.env = env  # the block pass's link references, for reference links

    def __call__(self, token: Token) -> list[Segment]:
        first = token.map[0] if token.map else 0
        fast = display_segments(token.content, first)
        if fast is not None:
            return fast
        if len(token.content) > MAX_PARSED_INLINE:
            return plain_segments(token.content, first)
        children: list[Token] = []
        self.parser.inline.parse(token.content, self.parser, self.env, children)
        return inline_segments(children, token.content, first)


def inline_segments(children: list[Token], raw: str, first: int) -> list[Segment]:
    """The display text of markdown-it's inline tokens of ``raw`` (starting at line
    ``first``), cut where the source line changes."""
    breaks = sum(1 for c in children if c.type in ("softbreak", "hardbreak"))
    newlines = raw.count("\n")
    if breaks == newlines:
        return list(_by_breaks(children, first))
    return list(_by_search(children, first, raw))


def _piece(child: Token) -> str | None:
    """The display text of one inline child (None for a line break)."""
    kind = child.type
    if kind in ("text", "code_inline", "text_special"):
        return child.content
    if kind == "image":
        return child.content  # its alt text; the URL is left out
    if kind == "html_inline":
        return " " if child.content.lower().startswith("<br") else ""
    return ""  # link, emphasis, strikethrough markers


def _by_breaks(children: list[Token], line: int) -> Iterator[Segment]:
    """Fast path: every source newline is a soft or hard break."""
    parts: list[str] = []
    for child in children:
        if child.type == "softbreak" or child.type == "hardbreak":
            parts.append(" " if child.type == "softbreak" else "\n")
            yield "".join(parts), line
            parts = []
            line += 1
        else:
            parts.append(_piece(child) or "")
    if parts:
        yield "".join(parts), line


def _by_search(children: list[Token], first: int, raw: str) -> Iterator[Segment]:
    """Slow path, for a newline hidden inside a code span, a tag or a link destination:
    each piece's line is found by finding the piece in the raw source."""
    cursor = 0
    line = first
    parts: list[str] = []
    for child in children:
        if child.type in ("softbreak", "hardbreak"):
            stop = raw.find("\n", cursor)
            if stop < 0:
                stop = len(raw)
            parts.append(" " if child.type == "softbreak" else "\n")
            yield "".join(parts), line
            parts = []
            line = first + raw.count("\n", 0, stop + 1)
            cursor = stop + 1
            continue
        piece = _piece(child) or ""
        if child.type == "code_inline" and piece:
            found = re.compile(r"\s+".join(map(re.escape, piece.split()))).search(raw, cursor)
            at, end = (found.start(), found.end()) if found else (-1, -1)
        elif child.type == "html_inline":
            at = raw.find(child.content, cursor)
            end = at + len(child.content)
        else:
            at = raw.find(piece, cursor) if piece else -1
            end = at + len(piece)
        if at >= 0:
            new_line = first + raw.count("\n", 0, at)
            if new_line != line and parts:
                yield "".join(parts), line
                parts = []
            line = new_line
            cursor = end
            after = first + raw.count("\n", 0, end)
            if after != line:  # the piece itself runs over lines: it is cited from its first
                parts.append(piece)
                yield "".join(parts), line
                parts = []
                line = after
                continue
        parts.append(piece)
    if parts:
        yield "".join(parts), line


def _code_segments(token: Token) -> list[Segment]:
    """A code block line by line (each its own source line), indentation kept."""
    first = (token.map[0] if token.map else 0) + (1 if token.type == "fence" else 0)
    return code_segments(token.content.split("\n"), first)


_HTML_DROP = re.compile(
    r"<!--.*?(?:-->|$)|<(script|style|textarea)\b.*?(?:</\1\s*>|$)|<\?.*?(?:\?>|$)",
    re.DOTALL | re.IGNORECASE,
)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!\w[^<>]*>")


def _html_segments(token: Token) -> list[Segment]:
    """The text of an HTML block, without its tags, comments, scripts and styles, one
    segment per source line."""
    first = token.map[0] if token.map else 0
    text = _HTML_DROP.sub(lambda m: "\n" * m.group().count("\n"), token.content)
    text = _TAG.sub(lambda m: "\n" * m.group().count("\n") or " ", text)
    segments: list[Segment] = []
    for n, line in enumerate(text.split("\n")):
        words = " ".join(html.unescape(line).split())
        if words:
            segments.append((words + "\n", first + n))
    if segments:
        segments[-1] = (segments[-1][0][:-1], segments[-1][1])
    return segments
