"""The HTML parser under the HTML loader: html.parser's events built into a small tree.

html.parser gives every start tag and piece of text with the line it starts on; the
builder closes what HTML leaves implied (an open ``<p>`` before a block, an ``<li>`` before
the next, a cell before the next cell, ...), keeps the few attributes the loader reads, and
counts, for every element, the characters of its text and of its links' text. The work is
linear in the input: nesting deeper than ``MAX_DEPTH`` is flattened into the deepest
element, and markup left open at the end of the file (``<!--``, ``</ ``, ``<a href="``,
a ``<script>`` with no end) is dropped, as a browser drops it, instead of going through
html.parser's end-of-input pass, which is quadratic before CPython 3.11.13 / 3.12.11 /
3.13.4 (117 KB of ``</ `` took 1.7 s, 240 KB 7 s).
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

from index.loaders.common import check_work

_FEED = 1 << 20  # characters given to html.parser first (then twice as many, ...)
MAX_DEPTH = 128  # deeper elements are flattened into their ancestor (browsers stop at 512)

_VOID = frozenset(
    "area base br col embed hr img input keygen link meta param source track wbr".split()
)
# elements whose content is never shown (the title is read apart)
_HIDDEN = frozenset(
    "head title script style template noscript svg iframe object embed canvas audio video "
    "select datalist option button textarea input dialog frameset".split()
)
HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_LISTS = frozenset(("ul", "ol", "menu", "dir"))
PRE = frozenset(("pre", "listing", "xmp", "plaintext"))
BLOCK = frozenset(
    "address article aside blockquote body caption center details dd dialog dir div dl dt "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend "
    "li listing main menu nav ol p plaintext pre section summary table tbody td tfoot th "
    "thead tr ul xmp".split()
)
_CLOSES_P = BLOCK - {"body", "html", "caption", "td", "th", "tr", "tbody", "thead", "tfoot"}
_TABLE_SCOPE = frozenset(("table", "html", "template"))
_SCOPE = frozenset(("td", "th", "caption", "button", "object", "template", "html")) | _TABLE_SCOPE
# where the search for an open element to close stops, by the tag being closed
_STOPS: dict[str, frozenset[str]] = {
    "li": _SCOPE | _LISTS,
    "dt": _SCOPE | {"dl"},
    "dd": _SCOPE | {"dl"},
    "td": _TABLE_SCOPE | {"tr"},
    "th": _TABLE_SCOPE | {"tr"},
    "tr": _TABLE_SCOPE | {"thead", "tbody", "tfoot"},
    "thead": _TABLE_SCOPE,
    "tbody": _TABLE_SCOPE,
    "tfoot": _TABLE_SCOPE,
    "table": frozenset(("html",)),
}
# start tags that close an open element of their kind (an <li> the <li> before it, ...)
_SIBLINGS = HEADINGS | {"li", "dt", "dd", "td", "th", "tr", "thead", "tbody", "tfoot"}
_HEAD = frozenset("title meta link style script base noscript template".split())
_KEPT_ATTRS = frozenset(("class", "id", "role", "href", "colspan", "hidden", "style"))


class Element:
    """An element of the parsed page. Text children are ``(text, line)``; ``text_len`` and
    ``link_len`` count the characters of its shown text and of the part inside links."""

    __slots__ = ("tag", "attrs", "line", "children", "text_len", "link_len")

    def __init__(self, tag: str, attrs: dict[str, str], line: int) -> None:
        self.tag = tag
        self.attrs = attrs
        self.line = line
        self.children: list[Element | tuple[str, int]] = []
        self.text_len = 0
        self.link_len = 0

    def elements(self) -> list[Element]:
        return [c for c in self.children if isinstance(c, Element)]


@dataclass
class Tree:
    body: Element
    title: tuple[str, int] | None
    meta: dict[str, str]


def parse(text: str) -> Tree:
    """The page's tree: its body (the root stands for html and body), title and meta."""
    builder = _TreeBuilder()
    # The page goes in by pieces of doubling size, so that the per-file time bound is
    # checked between them, while the work stays linear: a construct still open at the
    # end of a piece is parsed again with the next, which is at most twice as long.
    start, size = 0, _FEED
    while start < len(text):
        builder.feed(text[start : start + size])
        start += size
        size *= 2
        check_work()
    # What is left unparsed is markup open at the end of the file (a comment, a tag, a
    # script with no end): a browser shows none of it, and html.parser's end-of-input
    # pass over it is quadratic on older Pythons. Text waiting for an entity's end is kept.
    if builder.rawdata.startswith("<") or builder.cdata_elem:
        builder.rawdata = ""
        builder.clear_cdata_mode()
    builder.close()
    while len(builder.stack) > 1:
        builder.pop()
    title = None
    if builder.title_parts:
        words = " ".join(" ".join(t for t, _ in builder.title_parts).split())
        if words:
            title = (words, builder.title_parts[0][1])
    return Tree(builder.root, title, builder.meta)


class _TreeBuilder(HTMLParser):
    """Builds the ``Element`` tree from html.parser's events, closing implied elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("body", {}, 1)
        self.stack: list[Element] = [self.root]
        self.open: dict[str, int] = {}
        self.hidden = 0  # open elements whose content is not kept
        self.links = 0  # open <a href> elements
        self.title: Element | None = None
        self.title_parts: list[tuple[str, int]] = []
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("html", "body"):
            return  # the root stands for both
        open_ = self.open
        if open_.get("head") and tag not in _HEAD:
            self._close("head", _SCOPE)
        if open_.get("p") and tag in _CLOSES_P:
            self._close("p", _SCOPE)
        if tag in _SIBLINGS:
            self._close_sibling(tag)
        line = self.lineno  # html.parser's position: the line the tag starts on
        stack = self.stack
        if tag in _VOID:
            if tag == "meta":
                self._meta(attrs)
            elif (tag == "br" or tag == "hr") and not self.hidden:
                stack[-1].children.append(Element(tag, {}, line))
            return
        if len(stack) > MAX_DEPTH:
            return
        el = Element(tag, {k: v or "" for k, v in attrs if k in _KEPT_ATTRS} if attrs else {}, line)
        if tag in _HIDDEN:
            if tag == "title" and self.title is None and not open_.get("svg"):
                self.title = el
            self.hidden += 1
        elif not self.hidden:
            stack[-1].children.append(el)
            if tag == "a" and "href" in el.attrs:
                self.links += 1
        stack.append(el)
        open_[tag] = open_.get(tag, 0) + 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:  # XHTML's <div/>
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.stack[-1].tag == tag and len(self.stack) > 1:
            self.pop()  # the usual case: the element just opened
            return
        if tag in HEADINGS:
            for i in range(len(self.stack) - 1, 0, -1):
                found = self.stack[i].tag
                if found in HEADINGS:
                    self._pop_to(i)
                    return
                if found in _SCOPE or found in BLOCK:
                    return
            return
        if tag == "br":  # </br> is a <br>
            self.handle_starttag("br", [])
            return
        if not self.open.get(tag):
            return
        if tag in _STOPS:
            stops = _STOPS[tag]
        elif tag in BLOCK:
            stops = _SCOPE
        else:  # an inline end tag never closes a block opened after it
            stops = _SCOPE | BLOCK
        self._close(tag, stops)

    def handle_data(self, data: str) -> None:
        if self.hidden:
            if self.title is not None and self.stack[-1] is self.title:
                self.title_parts.append((data, self.getpos()[0]))
            return
        shown = len(data.strip())
        if shown and self.open.get("head"):
            self._close("head", _SCOPE)
        el = self.stack[-1]
        el.children.append((data, self.lineno))
        if shown:
            el.text_len += shown
            if self.links:
                el.link_len += shown

    def _meta(self, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        name = values.get("name", "").lower()
        content = " ".join(values.get("content", "").split())
        if name in ("description", "keywords") and content:
            self.meta.setdefault(name, content)

    def _close_sibling(self, tag: str) -> None:
        """Close the element a start tag ends: an ``li`` the next ``li``, ..."""
        if tag == "li":
            self._close("li", _STOPS["li"])
        elif tag in ("dt", "dd"):
            if not self._close("dt", _STOPS["dt"]):
                self._close("dd", _STOPS["dd"])
        elif tag in ("td", "th"):
            if not self._close("td", _STOPS["td"]):
                self._close("th", _STOPS["th"])
        elif tag == "tr":
            self._close("tr", _STOPS["tr"])
        elif tag in ("thead", "tbody", "tfoot"):
            for section in ("thead", "tbody", "tfoot"):
                self._close(section, _TABLE_SCOPE)
        elif tag in HEADINGS and self.stack[-1].tag in HEADINGS:
            self.pop()

    def _close(self, tag: str, stops: frozenset[str]) -> bool:
        """Close the nearest open ``tag`` and everything inside it, unless one of
        ``stops`` comes first."""
        if not self.open.get(tag):
            return False
        for i in range(len(self.stack) - 1, 0, -1):
            found = self.stack[i].tag
            if found == tag:
                self._pop_to(i)
                return True
            if found in stops:
                return False
        return False

    def _pop_to(self, index: int) -> None:
        while len(self.stack) > index:
            self.pop()

    def pop(self) -> None:
        el = self.stack.pop()
        self.open[el.tag] -= 1
        if el.tag in _HIDDEN:
            self.hidden -= 1
        elif not self.hidden:
            parent = self.stack[-1]
            parent.text_len += el.text_len
            parent.link_len += el.link_len
            if el.tag == "a" and "href" in el.attrs:
                self.links -= 1
