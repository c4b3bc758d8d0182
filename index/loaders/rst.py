"""reStructuredText (docutils): the text a reader of the rendered page sees, in blocks.

docutils parses the file into a tree; this module walks it and writes the display text:
section titles as headings, paragraphs, list items, literal and ``code-block`` blocks as
code (line breaks kept), table rows as ``Header: value, Header: value``, admonitions and
``versionadded``/``versionchanged`` as quotes ("Note: ...", "Changed in version 2.3:
..."), field and definition lists as ``name: text``. Roles show their text as Sphinx
renders it (``:meth:`~flask.Flask.run``` reads ``run``, ``:ref:`Text <label>``` reads
``Text``), literals lose their backticks.

Sphinx directives that docutils does not know are read leniently: object descriptions
(``py:data``, ``function``, ...) become a heading over their content, tabs a lead-in
("Bash:") before theirs, ``toctree``, ``auto*``, ``include``, ``image``, ``raw`` and
the like are dropped, and any other directive is read as the text it contains. Nothing
reads another file or the network, docutils' messages are silenced, and a file docutils
cannot parse at all is read as plain text.

Line numbers: docutils' own ``node.line`` is missing or off for many nodes (a
``code-block`` points past its first line, a title at its underline), so every block is
found again in the source lines, searching forward from the block before it, and each
display line is anchored to the source line it comes from.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from index.loaders.common import Anchor, Unreadable, check_work, decode_text
from index.loaders.text import load_text
from index.models import Block, BlockKind, Document

log = logging.getLogger("docqa.loading")

# docutils splits lines at these too (str.splitlines); as spaces, its lines are ours
_EXTRA_LINE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_LINE_LENGTH_LIMIT = 10_000  # docutils' own default: longer lines stop its parser
# how far past the block before a block's text is looked for (bounds the work per block)
_SEARCH_WINDOW = 5_000
_EXPLICIT_TITLE = re.compile(r"^(.+?)\s*<([^<>]*)>$", re.DOTALL)

# Sphinx directives that describe an object: the signature is a heading over the content.
_OBJECT_DIRECTIVES = {
    "function", "class", "method", "staticmethod", "classmethod", "attribute", "data",
    "exception", "decorator", "decoratormethod", "describe", "object", "envvar", "option",
    "confval", "property", "type",
}  # fmt: skip
# Directives whose argument labels the content that follows (tabs): "Bash:".
_LEAD_DIRECTIVES = {"tab", "group-tab", "code-tab", "tab-item", "dropdown", "card", "tab-set-code"}
# Directives that show nothing of their own in the rendered page, or read other files.
_DROPPED_DIRECTIVES = {
    "toctree", "include", "literalinclude", "raw", "image", "index", "highlight",
    "currentmodule", "module", "py:module", "py:currentmodule", "contents", "sectnum",
    "header", "footer", "meta", "title", "tabularcolumns", "todo", "todolist",
    "automodule", "autoclass", "autofunction", "automethod", "autoattribute", "autodata",
    "autoexception", "autosummary", "autoprogram", "click", "program", "default-domain",
    "target-notes", "graphviz", "inheritance-diagram", "plot", "only-latex", "codeauthor",
    "sectionauthor", "moduleauthor", "bibliography", "spelling:word-list",
}  # fmt: skip
_VERSION_LABELS = {
    "versionadded": "Added in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
    "versionremoved": "Removed in version",
}
_QUOTE_LABELS = {"seealso": "See also"}
_CODE_DIRECTIVES = {"code", "code-block", "sourcecode", "productionlist", "prompt"}
# Sphinx roles, registered up front; any other unknown role met in a file is added then.
_SPHINX_ROLES = (
    "any ref doc download numref keyword option term envvar token abbr command dfn file "
    "guilabel kbd mailheader makevar manpage menuselection mimetype newsfeed program regexp "
    "samp pep rfc func meth class attr data exc mod obj const"
).split()
# roles naming a Python (or other domain) object: "~" shows the last dotted part only
_OBJECT_ROLES = {"func", "meth", "class", "attr", "data", "exc", "mod", "obj", "const",
                 "member", "var", "type", "macro", "enum", "enumerator", "struct", "union",
                 "function", "property"}  # fmt: skip
_DOCUTILS_ROLES = {
    "emphasis", "strong", "literal", "code", "math", "subscript", "sub", "superscript",
    "sup", "title-reference", "title", "t", "abbreviation", "ab", "acronym", "ac",
    "pep-reference", "rfc-reference",
}  # fmt: skip
_DIRECTIVE_NAME = re.compile(r"^\s*\.\.\s+(?:\|[^|]+\|\s+)?([\w][\w:.+-]*)\s?::", re.MULTILINE)
_ROLE_NAME = re.compile(r"(?<![\w`]):([\w][\w:.+-]*):`")

_SETTINGS = {
    "report_level": 5,  # no messages (docutils' levels go up to 4)
    "halt_level": 5,
    "warning_stream": io.StringIO(),
    "file_insertion_enabled": False,  # no include, no csv-table :file:/:url:
    "raw_enabled": False,
    "_disable_config": True,  # no docutils.conf from the working or home folder
    "doctitle_xform": False,  # keep the first title a section title where it stands
    "docinfo_xform": False,
    "sectsubtitle_xform": False,
    "syntax_highlight": "none",
    "smart_quotes": False,
    "pep_references": False,
    "rfc_references": False,
    "line_length_limit": _LINE_LENGTH_LIMIT,
    "input_encoding": "unicode",
    "output_encoding": "unicode",
    "language_code": "en",
    "character_level_inline_markup": False,
}


def load(source: str, data: bytes) -> Document:
    text = decode_text(data)
    return rst_document(source, text)


def rst_document(source: str, text: str) -> Document:
    """The Document of reStructuredText ``text`` (a file's decoded text)."""
    clean = _EXTRA_LINE_BREAKS.sub(" ", text)
    lines = clean.split("\n")
    if any(len(line) > _LINE_LENGTH_LIMIT for line in lines):
        return _as_plain_text(source, text)  # docutils refuses such a file whole
    try:
        tree = _parse(clean)
        check_work(len(text))
        writer = _Writer(lines)
        writer.walk(tree)
    except Unreadable:
        raise
    except Exception:  # nesting deeper than docutils goes, a docutils bug
        log.debug("reading %s as reStructuredText failed; read as plain text", source,
                  exc_info=True)  # fmt: skip
        return _as_plain_text(source, text)
    if not writer.blocks:
        raise Unreadable("no text")
    return Document(
        source=source,
        kind="rst",
        text="".join(writer.parts),
        blocks=tuple(writer.blocks),
        anchors=tuple(writer.anchors),
        metadata=writer.metadata,
    )


def _as_plain_text(source: str, text: str) -> Document:
    """The file read as plain text, markup and all: better than nothing."""
    return load_text(source, text, markdown=False).model_copy(update={"kind": "rst"})


# --- parsing ------------------------------------------------------------------------------


def _parse(text: str) -> Any:
    from docutils.core import publish_doctree
    from docutils.parsers.rst import Parser, roles

    _register_sphinx()
    _register_unknown(text)
    roles._roles.pop("", None)  # a default-role left by a file whose parse failed
    parser = Parser(inliner=_checked_inliner())
    return publish_doctree(text, parser=parser, settings_overrides=dict(_SETTINGS))


def _checked_inliner() -> Any:
    """docutils' inline parser, checking the per-file work bound every 256 texts: the
    parse is one call, and some files make it slow (1 MB of short sections or table rows
    took docutils 20 s), so such a file stops at the bound instead. (The method is
    replaced on the instance: docutils builds its patterns from the class's own
    attributes, which a subclass would not have.)"""
    from docutils.parsers.rst.states import Inliner

    inliner = Inliner()
    parse = inliner.parse
    calls = 0

    def checked(text: str, lineno: int, memo: Any, parent: Any) -> Any:
        nonlocal calls
        calls += 1
        if not calls & 255:
            check_work()
        return parse(text, lineno, memo, parent)

    inliner.parse = checked  # type: ignore[method-assign]
    return inliner


class _AnyOptions(dict[str, Any]):
    """An option_spec that takes every option (Sphinx adds many docutils does not know)."""

    def __bool__(self) -> bool:
        return True

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> Any:
        from docutils.parsers.rst import directives

        return dict.get(self, key, directives.unchanged)


def _role_title(name: str, text: str) -> str:
    """What Sphinx shows for a role: the explicit title, else the target (``~`` keeps
    its last dotted part, ``!`` is dropped)."""
    explicit = _EXPLICIT_TITLE.match(text)
    if explicit and name not in {"abbr"}:
        return explicit.group(1)
    text = text.lstrip("!")
    if name.split(":")[-1] in _OBJECT_ROLES:
        text = text.lstrip(".")  # a leading dot only widens Sphinx's search
        if text.startswith("~"):
            text = text[1:].rsplit(".", 1)[-1]
    if name in {"doc", "std:doc"}:
        text = text.lstrip("/")
    elif name in {"file", "samp"}:
        text = text.replace("{", "").replace("}", "")
    elif name == "guilabel":
        text = text.replace("&", "")
    elif name in {"pep", "rfc"}:
        text = f"{name.upper()} {text}"
    return text


def _role(
    name: str,
    rawtext: str,
    text: str,
    lineno: int,
    inliner: Any,
    options: Any = None,
    content: Any = None,
) -> tuple[list[Any], list[Any]]:
    from docutils import nodes, utils

    return [nodes.literal(rawtext, _role_title(name.lower(), utils.unescape(text)))], []


def _node_classes() -> tuple[Any, Any]:
    from docutils import nodes
    from docutils.parsers.rst import Directive

    class docqa_directive(nodes.General, nodes.Element):  # noqa: N801 - docutils' naming
        """A directive read leniently: ``role`` says how (heading, lead, quote, plain)."""

    class Lenient(Directive):
        required_arguments = 0
        optional_arguments = 1
        final_argument_whitespace = True
        option_spec = _AnyOptions()
        has_content = True
        role = "plain"

        def label(self) -> str:
            return " ".join(" ".join(self.arguments).split())

        def run(self) -> list[Any]:
            node = docqa_directive(self.block_text)
            node["role"] = self.role
            node["name"] = self.name
            node["label"] = self.label()
            node["line"] = self.lineno
            self.fill(node)
            return [node]

        def fill(self, node: Any) -> None:
            if self.content:
                self.state.nested_parse(self.content, self.content_offset, node)

        def inline_label(self) -> str:
            """The argument with its inline markup rendered (``netstat`` (Linux))."""
            if not self.arguments:
                return ""
            parsed, _ = self.state.inline_text(" ".join(self.arguments), self.lineno)
            return " ".join("".join(_inline(n) for n in parsed).split())

    return docqa_directive, Lenient


# what _register_sphinx made: the node class and the directive classes others reuse
_HANDLERS: dict[str, Any] = {}


@functools.cache
def _register_sphinx() -> None:
    """Register lenient handlers for Sphinx's directives and roles, and make docutils'
    own directives take any option and keep their text when they fail."""
    from docutils.parsers.rst import directives, roles

    docqa_directive, lenient = _node_classes()

    class Heading(lenient):  # type: ignore[misc, valid-type]
        role = "heading"

    class Lead(lenient):  # type: ignore[misc, valid-type]
        role = "lead"

        def label(self) -> str:
            return self.inline_label()

    class Dropped(lenient):  # type: ignore[misc, valid-type]
        def run(self) -> list[Any]:
            return []

    class Version(lenient):  # type: ignore[misc, valid-type]
        role = "quote"

        def label(self) -> str:
            version = self.arguments[0].split(None, 1)[0] if self.arguments else ""
            return f"{_VERSION_LABELS.get(self.name.lower(), 'Version')} {version}".strip()

        def fill(self, node: Any) -> None:
            rest = self.arguments[0].split(None, 1)[1:] if self.arguments else []
            if rest:  # the text after the version on the directive's own lines
                from docutils import nodes

                parsed, _ = self.state.inline_text(rest[0], self.lineno)
                node += nodes.paragraph(rest[0], "", *parsed)
            super().fill(node)

    class Quote(lenient):  # type: ignore[misc, valid-type]
        role = "quote"

        def label(self) -> str:
            return _QUOTE_LABELS.get(self.name.lower(), self.name.capitalize())

        def fill(self, node: Any) -> None:
            if self.arguments:  # content written on the directive's line
                from docutils import nodes

                parsed, _ = self.state.inline_text(" ".join(self.arguments), self.lineno)
                node += nodes.paragraph(" ".join(self.arguments), "", *parsed)
            super().fill(node)

    class Code(lenient):  # type: ignore[misc, valid-type]
        def run(self) -> list[Any]:
            from docutils import nodes

            code = "\n".join(self.content)
            if not code.strip():
                return []
            shown: list[Any] = []
            caption = self.options.get("caption")
            if isinstance(caption, str) and caption.strip():  # Sphinx shows it above the code
                parsed, _ = self.state.inline_text(caption, self.lineno)
                shown.append(nodes.paragraph(caption, "", *parsed, nodes.Text(":")))
            return [*shown, nodes.literal_block(code, code)]

    for name in _OBJECT_DIRECTIVES:
        directives.register_directive(name, Heading)
        for domain in ("py", "js", "c", "cpp", "rst", "std", "http"):
            directives.register_directive(f"{domain}:{name}", Heading)
    for name in ("c:macro", "c:member", "cpp:member", "rst:directive", "rst:role",
                 "rst:directive:option", "http:get", "http:post", "http:put", "http:patch",
                 "http:delete"):  # fmt: skip
        directives.register_directive(name, Heading)
    for name in _LEAD_DIRECTIVES:
        directives.register_directive(name, Lead)
    for name in _DROPPED_DIRECTIVES:
        directives.register_directive(name, Dropped)
    for name in _VERSION_LABELS:
        directives.register_directive(name, Version)
    for name in _QUOTE_LABELS:
        directives.register_directive(name, Quote)
    for name in _CODE_DIRECTIVES:
        directives.register_directive(name, Code)
    for name in ("tabs", "tab-set", "only", "ifconfig", "glossary", "hlist", "centered",
                 "grid", "grid-item", "grid-item-card", "container", "rst-class",
                 "cssclass", "div"):  # fmt: skip
        directives.register_directive(name, lenient)
    _make_docutils_lenient(lenient)
    for name in _SPHINX_ROLES:
        roles.register_local_role(name, _role)
        for domain in ("py", "js", "c", "cpp", "rst", "std"):
            roles.register_local_role(f"{domain}:{name}", _role)
    _HANDLERS.update(node=docqa_directive, lenient=lenient, heading=Heading, dropped=Dropped)


def _make_docutils_lenient(lenient: Any) -> None:
    """docutils' directives (note, table, figure, ...) with any option accepted, and read
    as plain content when they fail (a malformed list-table keeps its text)."""
    from importlib import import_module

    from docutils.parsers.rst import directives

    for name, (module_name, class_name) in list(directives._directive_registry.items()):
        if name in _DROPPED_DIRECTIVES or name in _CODE_DIRECTIVES:
            continue
        try:
            module = import_module(f"docutils.parsers.rst.directives.{module_name}")
            original = getattr(module, class_name)
        except (ImportError, AttributeError):  # pragma: no cover - docutils' own table
            continue

        def run(self: Any, _original: Any = original) -> list[Any]:
            from docutils import nodes

            try:
                result = _original.run(self)
            except Exception:  # keep the text: read the content as plain reST
                return lenient.run(self)  # type: ignore[no-any-return]
            if result and all(isinstance(n, nodes.system_message) for n in result):
                return lenient.run(self)  # type: ignore[no-any-return]  # an error, not text
            return result  # type: ignore[no-any-return]

        spec = original.option_spec
        attrs: dict[str, Any] = {"run": run, "role": "plain", "label": lenient.label,
                                 "fill": lenient.fill}  # fmt: skip
        if spec:
            attrs["option_spec"] = _AnyOptions(spec)
        directives.register_directive(name, type(f"Lenient{class_name}", (original,), attrs))


def _register_unknown(text: str) -> None:
    """Register a lenient handler for every directive and role in ``text`` that neither
    docutils nor Sphinx's list knows, so none becomes an error message."""
    from docutils.parsers.rst import directives, roles
    from docutils.parsers.rst.languages import en

    for name in set(_DIRECTIVE_NAME.findall(text)):
        key = name.lower()
        if key in directives._directives or key in directives._directive_registry:
            continue
        if key in en.directives:
            continue
        bare = key.split(":")[-1]
        if bare in _OBJECT_DIRECTIVES:
            directives.register_directive(key, _HANDLERS["heading"])
        elif bare.startswith("auto"):
            directives.register_directive(key, _HANDLERS["dropped"])
        else:
            directives.register_directive(key, _HANDLERS["lenient"])
    for name in set(_ROLE_NAME.findall(text)):
        key = name.lower()
        if key in roles._roles or key in _DOCUTILS_ROLES or key in en.roles:
            continue
        roles.register_local_role(key, _role)


# --- writing the display text ---------------------------------------------------------------


def _inline(node: Any) -> str:
    """The text of an inline node as rendered: markup gone, images dropped."""
    from docutils import nodes

    if isinstance(node, nodes.Text):
        return str(node)
    if isinstance(node, (nodes.footnote_reference, nodes.citation_reference)):
        return f"[{node.astext()}]"  # as the footnote itself is labelled
    if isinstance(
        node,
        (nodes.image, nodes.raw, nodes.system_message, nodes.substitution_definition,
         nodes.comment),
    ):  # fmt: skip
        return ""
    return "".join(_inline(child) for child in node.children)


def _squash(line: str) -> str:
    return " ".join(line.split())


class _Prefix(NamedTuple):
    """A label for the next paragraph: "Note" makes "Note: text"."""

    label: str
    line: int
    alone: str  # what shows when no paragraph follows ("Added in version 2.0.")
    kind: BlockKind
    joiner: str = ": "


class _Writer:
    """Walks a docutils tree and writes the display text, its blocks and anchors."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.squashed = [_squash(line) for line in lines]
        self.cursor = 0  # 0-based index of the first source line not yet used
        self.parts: list[str] = []
        self.length = 0
        self.anchors: list[Anchor] = []
        self.blocks: list[Block] = []
        self.path: list[str] = []
        self.metadata: dict[str, str] = {}
        self.last_line = 1
        # a label waiting for the next paragraph ("Note", "Changed in version 2.3")
        self.prefix: _Prefix | None = None

    # -- locating source lines -------------------------------------------------------

    def find(self, raw_lines: list[str], hint: int | None = None, advance: bool = True) -> int:
        """The 1-based line where ``raw_lines`` start, searching forward from the cursor;
        the cursor then moves past them (or stays on their first line)."""
        needles = [_squash(r) for r in raw_lines]
        first = next((i for i, n in enumerate(needles) if n), None)
        start = self.cursor
        found: int | None = None
        if first is not None:
            for i in range(start, min(start + _SEARCH_WINDOW, len(self.lines))):
                if needles[first] in self.squashed[i] and self._follows(needles, first, i):
                    found = i - first
                    break
        if found is None:
            found = hint - 1 if hint is not None and hint - 1 >= start else start
        found = max(0, min(found, len(self.lines) - 1))
        if advance:
            self.cursor = max(self.cursor, min(found + len(raw_lines), len(self.lines)))
        else:
            self.cursor = max(self.cursor, found)
        return found + 1

    def _follows(self, needles: list[str], first: int, at: int) -> bool:
        """Whether the next two non-empty needles stand on the lines after ``at``."""
        checked = 0
        for k in range(first + 1, len(needles)):
            if checked == 2:
                break
            if not needles[k]:
                continue
            line = at + k - first
            if line >= len(self.squashed) or needles[k] not in self.squashed[line]:
                return False
            checked += 1
        return True

    # -- writing -------------------------------------------------------------------------

    def _anchor(self, line: int) -> None:
        line = max(line, self.last_line)  # anchors never go back (citations need that)
        self.last_line = line
        if self.anchors and self.anchors[-1][0] == self.length:
            self.anchors[-1] = (self.length, line, None)
        else:
            self.anchors.append((self.length, line, None))

    def _write(self, piece: str) -> None:
        self.parts.append(piece)
        self.length += len(piece)

    def emit(self, kind: BlockKind, lines: list[tuple[str, int]]) -> None:
        """One block of display lines, each with the source line it comes from."""
        lines = [(text, line) for text, line in lines]
        while lines and not lines[-1][0].strip():
            lines.pop()
        if not lines:
            return
        if self.prefix is not None and kind != "heading":
            prefix, self.prefix = self.prefix, None
            if kind == "code" or kind == "table_row":  # a label of its own above it
                self._emit_alone(prefix.alone, prefix.line, prefix.kind)
            else:
                self._begin_block()
                start = self.length
                self._anchor(prefix.line)
                self._write(prefix.label + prefix.joiner)
                self._lines(lines)
                self._end_block(kind, start)
                return
        self._begin_block()
        start = self.length
        self._lines(lines)
        self._end_block(kind, start)

    def _emit_alone(self, text: str, line: int, kind: BlockKind) -> None:
        self._begin_block()
        start = self.length
        self._anchor(line)
        self._write(text)
        self._end_block(kind, start)

    def _begin_block(self) -> None:
        if self.parts:
            self._write("\n\n")

    def _lines(self, lines: list[tuple[str, int]]) -> None:
        for i, (text, line) in enumerate(lines):
            if i:
                self._write("\n")
            self._anchor(line)
            self._write(text)

    def _end_block(self, kind: BlockKind, start: int) -> None:
        self.blocks.append(
            Block(start=start, end=self.length, kind=kind, heading_path=tuple(self.path))
        )
        if len(self.blocks) % 100 == 0:
            check_work(self.length)

    def set_prefix(
        self, label: str, line: int, kind: BlockKind, ending: str = ":", joiner: str = ": "
    ) -> None:
        """Put ``label`` before the next paragraph ("Note: ..."), or alone when none
        comes (``label`` + ``ending``)."""
        self.flush_prefix()
        self.prefix = _Prefix(label, line, label + ending, kind, joiner)

    def flush_prefix(self) -> None:
        if self.prefix is not None:
            prefix, self.prefix = self.prefix, None
            self._emit_alone(prefix.alone, prefix.line, prefix.kind)

    # -- the tree --------------------------------------------------------------------

    def walk(self, node: Any) -> None:
        for child in node.children:
            self.visit(child, "paragraph")

    def visit(self, node: Any, kind: BlockKind) -> None:
        from docutils import nodes

        if isinstance(node, _HANDLERS["node"]):
            self.visit_directive(node, kind)
        elif isinstance(node, nodes.section):
            self.visit_section(node, kind)
        elif isinstance(node, (nodes.paragraph, nodes.rubric)):
            self.paragraph(node, kind)
        elif isinstance(node, nodes.title):  # of a topic or sidebar
            self.paragraph(node, "quote" if kind == "quote" else "paragraph")
        elif isinstance(node, (nodes.literal_block, nodes.doctest_block, nodes.math_block)):
            self.code(node)
        elif isinstance(node, (nodes.bullet_list, nodes.enumerated_list)):
            for item in node.children:
                self.children(item, "list_item")
        elif isinstance(node, nodes.definition_list):
            for item in node.children:
                self.definition(item)
        elif isinstance(node, nodes.field_list):
            self.field_list(node)
        elif isinstance(node, nodes.option_list):
            for item in node.children:
                self.option(item)
        elif isinstance(node, nodes.line_block):
            self.line_block(node, kind)
        elif isinstance(node, nodes.table):
            self.table(node)
        elif isinstance(node, nodes.Admonition):
            self.admonition(node)
        elif isinstance(node, (nodes.block_quote, nodes.topic, nodes.sidebar)):
            self.children(node, "quote")
        elif isinstance(node, nodes.attribution):
            self.paragraph(node, "quote", lead="— ")
        elif isinstance(node, (nodes.footnote, nodes.citation)):
            self.footnote(node)
        elif isinstance(
            node,
            (nodes.comment, nodes.target, nodes.substitution_definition, nodes.system_message,
             nodes.image, nodes.raw, nodes.transition, nodes.pending, nodes.label,
             nodes.Invisible),
        ):  # fmt: skip
            return
        elif isinstance(node, nodes.Element):  # compound, container, figure, legend, ...
            self.children(node, kind)

    def children(self, node: Any, kind: BlockKind) -> None:
        for child in node.children:
            self.visit(child, kind)

    def visit_section(self, node: Any, kind: BlockKind) -> None:
        from docutils import nodes

        title = node.next_node(nodes.title)
        depth = len(self.path)
        if title is not None and title.parent is node:
            text = _squash(_inline(title))
            line = self.find(title.rawsource.split("\n")[:1] or [text], title.line)
            self.path.append(text)
            self.emit("heading", [(text, line)])
        for child in node.children:
            if not isinstance(child, nodes.title):
                self.visit(child, kind)
        del self.path[depth:]

    def visit_directive(self, node: Any, kind: BlockKind) -> None:
        role, label, line = node["role"], node["label"], node["line"]
        if role == "heading" and label:
            depth = len(self.path)
            self.flush_prefix()
            found = self.find([label], line, advance=False)
            self.path.append(label)
            self.emit("heading", [(label, found)])
            self.children(node, "paragraph")
            del self.path[depth:]
        elif role == "lead" and label:
            self.flush_prefix()
            found = self.find([label.split(" ")[0]], line, advance=False)
            self._emit_alone(label + ":", found, "paragraph")
            self.children(node, kind)
        elif role == "quote":
            ending = "." if label[-1:].isdigit() else ":"
            self.set_prefix(label, max(line, self.cursor + 1), "quote", ending)
            self.children(node, "quote")
            self.flush_prefix()
        else:
            if label and not node.children:  # text written on the directive's line only
                found = self.find([label], line, advance=False)
                self.emit(kind, [(label, found)])
            self.children(node, kind)

    def admonition(self, node: Any) -> None:
        from docutils import nodes

        self.flush_prefix()
        title = node.next_node(nodes.title)
        if isinstance(node, nodes.admonition) and title is not None and title.parent is node:
            text = _squash(_inline(title))
            line = self.find([title.rawsource or text], title.line, advance=False)
            self._emit_alone(text, line, "quote")
        else:
            label = node.tagname.replace("_", " ").capitalize()
            self.set_prefix(label, max(node.line or 0, self.cursor + 1), "quote")
        for child in node.children:
            if not isinstance(child, nodes.title):
                self.visit(child, "quote")
        self.flush_prefix()

    def paragraph(self, node: Any, kind: BlockKind, lead: str = "") -> None:
        display = lead + _inline(node)
        raw = (node.rawsource or display).split("\n")
        shown = [line.strip() for line in display.split("\n")]
        start = self.find(raw, node.line)
        self.emit(kind, list(zip(shown, _align(shown, raw, start), strict=True)))

    def code(self, node: Any) -> None:
        text = node.astext().rstrip()
        if not text.strip():
            return
        shown = text.split("\n")
        start = self.find(shown, node.line)
        self.emit("code", [(line, start + i) for i, line in enumerate(shown)])

    def line_block(self, node: Any, kind: BlockKind) -> None:
        from docutils import nodes

        shown = [_inline(line).strip() for line in node.findall(nodes.line)]
        shown = [line for line in shown if line]
        if shown:
            start = self.find(shown[:1], node.line)
            self.emit(kind, list(zip(shown, _align(shown, shown, start), strict=True)))

    def definition(self, item: Any) -> None:
        from docutils import nodes

        terms = [c for c in item.children if isinstance(c, (nodes.term, nodes.classifier))]
        text = " : ".join(_squash(_inline(t)) for t in terms)
        if text:
            line = self.find([terms[0].rawsource or text], terms[0].line)
            self.set_prefix(text, line, "list_item")
        for child in item.children:
            if isinstance(child, nodes.definition):
                self.children(child, "list_item")
        self.flush_prefix()

    def field_list(self, node: Any) -> None:
        from docutils import nodes

        for field in node.children:
            name = field.next_node(nodes.field_name)
            body = field.next_node(nodes.field_body)
            text = _squash(_inline(name)) if name is not None else ""
            if not self.blocks and self.prefix is None and not self.path:
                # a field list before anything else is Sphinx's file-wide metadata
                value = _squash(_inline(body)) if body is not None else ""
                self.metadata[text] = value
                continue
            if text:
                line = self.find([f":{name.rawsource}:" if name.rawsource else text], None,
                                 advance=False)  # fmt: skip
                self.set_prefix(text, line, "list_item")
            if body is not None:
                self.children(body, "list_item")
            self.flush_prefix()

    def option(self, item: Any) -> None:
        from docutils import nodes

        group = item.next_node(nodes.option_group)
        text = _squash(group.astext()) if group is not None else ""
        if text:
            line = self.find([text.split(",")[0].split(" ")[0]], None, advance=False)
            self.set_prefix(text, line, "list_item")
        description = item.next_node(nodes.description)
        if description is not None:
            self.children(description, "list_item")
        self.flush_prefix()

    def footnote(self, node: Any) -> None:
        from docutils import nodes

        label = node.next_node(nodes.label)
        if label is not None:
            line = self.find([f"[{label.astext()}]"], node.line, advance=False)
            self.set_prefix(f"[{label.astext()}]", line, "paragraph", ending="", joiner=" ")
        self.children(node, "paragraph")
        self.flush_prefix()

    def table(self, node: Any) -> None:
        from docutils import nodes

        self.flush_prefix()
        title = node.next_node(nodes.title)
        if title is not None and title.parent is node:
            self.paragraph(title, "paragraph")
        for group in node.findall(nodes.tgroup):
            header: list[str] | None = None
            head = group.next_node(nodes.thead)
            if head is not None:
                rows = [self.cells(row) for row in head.findall(nodes.row)]
                columns = zip(*rows, strict=False)
                header = [" ".join(c for c, _ in column if c) for column in columns]
            body = group.next_node(nodes.tbody)
            if body is None:
                continue
            for row in body.children:
                cells = self.cells(row)
                texts = [c for c, _ in cells]
                line = next((ln for c, ln in cells if c), None)
                if line is None:
                    continue
                self.emit("table_row", [(_row_text(texts, header), line)])
                self.cursor = max(self.cursor, line)

    def cells(self, row: Any) -> list[tuple[str, int | None]]:
        """A row's cells as (text, first source line), searched from the row's start."""
        from docutils import nodes

        cells: list[tuple[str, int | None]] = []
        row_start = self.cursor
        for entry in row.children:
            paragraphs = [
                p for p in entry.findall(nodes.TextElement) if p.children and not _nested_text(p)
            ]
            text = _squash(" ".join(_inline(p) for p in paragraphs))
            line: int | None = None
            if text and paragraphs:
                self.cursor = row_start
                raw = (paragraphs[0].rawsource or text).split("\n")[:1]
                line = self.find(raw, paragraphs[0].line, advance=False)
            cells.append((text, line))
        self.cursor = row_start
        return cells


def _nested_text(node: Any) -> bool:
    """Whether a text element sits inside another one (its text is counted there)."""
    from docutils import nodes

    parent = node.parent
    while parent is not None and not isinstance(parent, nodes.entry):
        if isinstance(parent, nodes.TextElement):
            return True
        parent = parent.parent
    return False


def _row_text(cells: list[str], header: list[str] | None) -> str:
    if header is not None and len(header) == len(cells):
        return ", ".join(f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=True) if c)
    if len(cells) == 2 and all(cells):
        return f"{cells[0]}: {cells[1]}"
    return ", ".join(c for c in cells if c)


def _align(shown: list[str], raw: list[str], start: int) -> Iterator[int]:
    """The source line of each display line of a block that starts on line ``start``:
    one for one when markup removal kept the line count, else the first raw line (from
    the last one matched) that holds the display line's first word."""
    if len(shown) == len(raw):
        yield from range(start, start + len(shown))
        return
    k = 0
    for text in shown:
        words = text.split()
        if words:
            word = words[0].strip("`*:_")
            for j in range(k, len(raw)):
                if word and word in raw[j]:
                    k = j
                    break
        yield start + k
