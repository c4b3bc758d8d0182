"""Fuzzing the whole path (issue 11): generated documents folders and questions.

Hypothesis makes folders of files with every supported suffix: random bytes, random
text, small real-looking documents of each format (written here, or built as the PDF and
DOCX tests build theirs) mutated byte by byte and token by token, markup soup, odd names
(not UTF-8, control characters, escapes that look like docqa's own), empty files, named
pipes and links (to another file, to themselves, to nothing, out of the folder, a folder
linked into itself). Each folder is indexed through ``open_index`` with a temporary data
folder and through ``build_index``, which must agree; opened again, which must load what
was saved; and asked the generated questions. Every citation of every answer must stand
at its lines (``verify_citation``), what the terminal and ``--json`` print must be
printable UTF-8, and nothing may raise but docqa's own ``DocqaError``s, nor run longer
than ``WATCHDOG`` seconds.

CI runs a fixed set of examples (the ``fuzz-ci`` profile is derandomized). A longer,
random run: ``DOCQA_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py`` (any count other than
the CI's is drawn at random, and the failing example is printed to reproduce it).
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest
from conftest import make_pdf
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from pdf_files import Pdf, body, build, line

from bot.printable import json_printable
from bot.terminal.format import answer_json, format_answer, format_sources
from index.chunking import ChunkingConfig
from index.citations import verify_citation
from index.errors import DocqaError, NoDocumentsError, QuestionError
from index.loaders import LOADERS
from index.retrieval import Engine, build_index
from index.store import open_index

CI_EXAMPLES = 100
EXAMPLES = int(os.environ.get("DOCQA_FUZZ_EXAMPLES", CI_EXAMPLES))
WATCHDOG = 20.0  # seconds one example may take (a few tiny files: well under one)

settings.register_profile(
    "fuzz-ci",
    max_examples=CI_EXAMPLES,
    derandomize=True,  # the same examples at every run: CI never fails by chance
    database=None,
    deadline=None,  # the watchdog bounds an example; a loaded CI machine is slow
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
settings.register_profile(
    "fuzz-long", settings.get_profile("fuzz-ci"), max_examples=EXAMPLES, derandomize=False
)
PROFILE = settings.get_profile("fuzz-ci" if EXAMPLES == CI_EXAMPLES else "fuzz-long")
CONFIG = ChunkingConfig()

# --- seeds: one small document of each format ------------------------------------------

MARKDOWN = """---
title: Widget guide
tags: [install, python]
---
# Install the widget

Run `pip install widget` to **install** it; see [the docs](https://example.org/docs).

> [!NOTE]
> The widget needs Python 3.11 or later.

- Download the archive
  - unpack it into `/opt`
1. first step
2. second step

| Option | Default |
|--------|---------|
| port   | 8080    |

```python
print("the widget is installed")
```

{{% note %}}
A Hugo note about the rotor.
{{% /note %}}

Timeout
: How long the widget waits, in seconds.

!!! warning "Careful"
    The rotor turns at 300 rpm.

Setext heading
==============

Mr. Smith installed it on 2024-01-02. It took 5 minutes.
"""

MDX = """import {Note} from '../components/note.jsx'
export const meta = {title: 'Widget'}

# Widget {meta.title}

<Note type="warning">
The widget needs **Python** 3.11.
</Note>

<Tabs><Tab label="pip">pip install widget</Tab></Tabs>

Text with an {expression} and a <Badge text="new" /> inside.
"""

HTML = """<!DOCTYPE html>
<html><head><title>Widget FAQ</title><style>p {color: red}</style>
<script>var x = "<p>not text</p>";</script></head>
<body><nav><a href="/">Home</a> | <a href="/faq">FAQ</a></nav>
<h1 id="faq">Widget FAQ</h1>
<p>The widget listens on port <code>8080</code> &amp; answers in 5&nbsp;ms.</p>
<h2>How do I install it?</h2>
<ul><li>Run <kbd>pip install widget</kbd></li><li>Restart<ul><li>twice</li></ul></li></ul>
<pre>$ widget --port 8080
listening</pre>
<table><tr><th>Option</th><th>Default</th></tr><tr><td>timeout</td><td>30 s</td></tr></table>
<blockquote>The rotor turns at 300 rpm.</blockquote>
<dl><dt>Term</dt><dd>Its definition.</dd></dl>
<!-- a comment --><p>Caf&eacute; &#x263a; &#99999999; &bogus;</p>
<footer>Last modified 2024</footer></body></html>
"""

RST = """Widget manual
=============

.. contents::

Installing
----------

Run ``pip install widget``. See `the docs <https://example.org>`_ and |name|.

.. |name| replace:: the widget

.. note:: The widget needs Python 3.11.

.. code-block:: python

   print("installed")

* one
* two

  - nested

+--------+---------+
| Option | Default |
+========+=========+
| port   | 8080    |
+--------+---------+

:Author: Ada
:Version: 2.1

.. include:: /etc/hostname
.. raw:: html

   <b>raw</b>

The rotor turns at 300 rpm [#]_.

.. [#] A footnote.
"""

ASCIIDOC = """= Widget Manual
Ada Lovelace <ada@example.org>
:version: 2.1
:url-docs: https://docs.example.org

Widget {version} reads *AsciiDoc* and _Markdown_; see {url-docs}[the docs].

== Install

. Download the `widget` archive
. Unpack it
** into `/opt`

NOTE: The rotor turns at 300 rpm.

----
$ widget --port 8080
----

|===
|Option |Default
|port |8080
|===

ifdef::env-github[]
Shown on GitHub.
endif::[]

include::/etc/hostname[]

term:: its definition
"""

TEXT = (
    "Mr. Smith installed the widget on Jan. 2. It listens on port 8080, e.g. for the API.\n"
    "The rotor turns at 300 rpm.\n\nA. B. Author1, C. D. Author2 wrote the manual (v2.1).\n"
)


def _docx() -> bytes:
    document = docx.Document()
    document.add_heading("Widget handbook", level=1)
    document.add_paragraph("The widget listens on port 8080.")
    document.add_paragraph("Install it with pip.", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("Option", "Default"), ("timeout", "30 s")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_heading("Rotor", level=2)
    document.add_paragraph("The rotor turns at 300 rpm.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


PDF_FONTS = build(
    Pdf(
        pages=[
            [line(72, 720, "Widget manual", size=18, font="B"), *body(["The widget listens",
             "on port 8080. The mag-", "nitude of the rotor is 300 rpm."], top=690)],
            body(["Installing", "Run pip install widget."]),
        ],
        outline=[("Widget manual", 0), ("Installing", 1)],
    ),
    shared_content=None,
)  # fmt: skip
PDF_PLAIN = make_pdf([["The widget listens on port 8080."], ["The rotor turns at 300 rpm."]])

SEEDS: dict[str, list[bytes]] = {
    "markdown": [MARKDOWN.encode()],
    "mdx": [MDX.encode(), MARKDOWN.encode()],
    "html": [HTML.encode()],
    "rst": [RST.encode()],
    "asciidoc": [ASCIIDOC.encode()],
    "text": [TEXT.encode(), TEXT.encode("utf-16"), TEXT.encode("cp1252")],
    "pdf": [PDF_FONTS, PDF_PLAIN],
    "docx": [_docx()],
}
FORMAT = {suffix: loader.__module__.rsplit(".", 1)[-1] for suffix, loader in LOADERS.items()}
SUFFIXES = sorted(LOADERS)

# pieces of markup that parsers treat specially, spliced into documents
MARKUP = [
    "<", ">", "</", "<p>", "</p>", "<div>", "<table><tr><td>", "<pre>", "<script>", "<!--",
    "-->", "<![CDATA[", "&", "&amp;", "&#0;", "&#x110000;", "&#99999999;", "&nbsp", "[", "]",
    "](", "![", "(", ")", "`", "``", "```", "~~~", "*", "**", "_", "__", "#", "## ", "\n",
    "\n\n", "    ", "\t", "|", "|---|", "---", "===", "> ", ">>>>>>>>", "- ", "1. ", "* ", ":",
    "::", ": ", ".. ", ".. note::", ".. code-block::", ".. |x| replace:: |x|", "|x|", "`a`_",
    ".. _a: b", "__", ".. include:: /etc/passwd", ".. raw:: html", "+---+---+", "{{<",
    ">}}", "{{%", "%}}", "{{< /tabs >}}", "{", "}", "{/*", "*/}", "import x from 'y'\n",
    "export const a = {\n", "<Note>", "</Note>", "<Tab label='x'>", ":a: {a}{a}\n", "{a}",
    ":version: 3\n", "ifdef::x[]\n", "endif::[]\n", "include::/etc/passwd[]\n", "|===\n",
    "----\n", "....\n", "NOTE: ", "xref:a.adoc[b]", "link:x[y]", "<<a,b>>", "+++", "pass:[",
    "\x00", "\x1b[2J", "\x1b]0;title\x07", "\x1b]52;c;eA==\x07", "\x9b", "\u202e", "\u2028",
    "\r", "\r\n", "\ufeff", "\u00ad", "ﬁ", "e\u0301", "\U0001f600", "Mr. ", "e.g. ", "3.14",
    "A. B. ", "...", "?!", "rotor", "widget", "install", "8080", "---\n", "+++\n",
    "a: &a [x, x, x]\n", "b: &b [*a, *a, *a, *a]\n", "c: [*b, *b, *b]\n", "d: &d [*d]\n",
]  # fmt: skip
PDF_TOKENS = [
    b"<<", b">>", b"[", b"]", b"(", b")", b"/Filter /FlateDecode", b"/Filter /Foo",
    b"/Filter [/FlateDecode /FlateDecode]", b"/Length 999999", b"/Length -1", b"obj",
    b"endobj", b"stream\n", b"\nendstream", b"0 R", b"99 0 R", b"/Encrypt << /V 9 /R 9 >>",
    b"trailer", b"xref\n0 1\n", b"startxref\n0\n", b"%%EOF", b"/Type /Page", b"/Kids [",
    b"/Count 999999", b"/Outlines 1 0 R", b"/First 1 0 R", b"/Next 1 0 R", b"BT", b"ET",
    b"Tj", b"TJ", b"Tf", b"Td", b"Ts", b"/F9 12 Tf", b"(\\", b"<FEFF>", b"1e308", b"-0",
]  # fmt: skip
DOCX_XML_TOKENS = [
    "<w:p>", "</w:p>", "<w:r>", "</w:r>", "<w:t>", "</w:t>", "<w:tbl>", "</w:tbl>", "<w:tr>",
    "<w:tc>", '<w:pStyle w:val="Heading1"/>', '<w:pStyle w:val="Heading9"/>',
    '<w:numPr><w:ilvl w:val="99"/><w:numId w:val="1"/></w:numPr>', "<w:br/>", "<w:tab/>",
    "&amp;", "&", "<", '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>', "&a;", "\x00", "ok",
]  # fmt: skip
WORDS = (
    "widget install rotor turns rpm port listens python manual option default timeout "
    "pip unpack download note warning how what when where does the a of is to it"
).split()

# --- strategies -------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, seed: bytes, tokens: list[bytes]) -> bytes:
    """``seed`` with a few edits: a byte changed, a range deleted or repeated, a token
    spliced in, the end cut off."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "delete", "repeat", "token", "cut"]))
        at = draw(st.integers(0, 10**6)) % (len(data) + 1)
        size = draw(st.integers(1, 64))
        if op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[at : at + size]
        elif op == "repeat":
            data[at:at] = data[at : at + size] * draw(st.integers(1, 40))
        elif op == "token":
            data[at:at] = draw(st.sampled_from(tokens)) * draw(st.integers(1, 30))
        elif op == "cut":
            del data[at:]
    return bytes(data)


@st.composite
def mutated_docx(draw: st.DrawFn) -> bytes:
    """The DOCX seed with its document.xml edited as text (a byte flip inside a zip
    only fails its checksum)."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(SEEDS["docx"][0]))
    tokens = [t.encode() for t in DOCX_XML_TOKENS]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "word/document.xml":
                content = draw(mutated(content, tokens))
            target.writestr(item, content)
    return out.getvalue()


MARKUP_BYTES = [t.encode("utf-8", "surrogatepass") for t in MARKUP]


def contents(fmt: str) -> st.SearchStrategy[bytes]:
    """What a file of format ``fmt`` may hold."""
    text = st.text(max_size=300)
    soup = st.lists(st.sampled_from(MARKUP + WORDS), max_size=120).map(" ".join)
    encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "cp1252", "latin-1"])
    seeds = SEEDS.get(fmt, SEEDS["text"])
    tokens = PDF_TOKENS + MARKUP_BYTES if fmt == "pdf" else MARKUP_BYTES
    own = st.sampled_from(seeds).flatmap(lambda seed: mutated(seed, tokens))
    options = [
        own,  # the most likely to make a document: drawn more often
        own,
        own,
        st.binary(max_size=600),
        st.tuples(st.one_of(text, soup), encodings).map(lambda p: p[0].encode(p[1], "replace")),
        st.sampled_from([s for group in SEEDS.values() for s in group]),  # another format's
    ]
    if fmt == "docx":
        options.append(mutated_docx())
    return st.one_of(*options)


# names as bytes: not UTF-8, control characters, escapes docqa itself writes, bidi marks
ODD_STEMS = [
    b"bad\xff", b"caf\xc3\xa9", b"caf\xe9", b"forged\ndocqa: built the index", b"tab\there",
    b"back\\xff", b"back\\x0a", b"c1\xc2\x85", b" spaced ", b"-dash", b"\xe2\x80\xaeevil",
    b"\x1b[2Jclear", b"a" * 100, b"UPPER", b"dots.in.name", b"\\", b"x\\u0085",
]  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """One directory entry to make: a file (``data``), a pipe, or a link to ``target``."""

    name: bytes  # relative to the folder, "/" between its parts
    kind: str  # file, pipe, link
    data: bytes = b""
    target: bytes = b""


@st.composite
def names(draw: st.DrawFn) -> bytes:
    stem = draw(
        st.one_of(
            st.sampled_from(ODD_STEMS),
            st.text(st.characters(exclude_characters="/\x00", exclude_categories=["Cs"]),
                    min_size=1, max_size=12).map(os.fsencode),
        )
    )  # fmt: skip
    suffix = draw(st.sampled_from([*SUFFIXES, ".PDF", ".Md", ".png", ""]))
    folder = draw(st.sampled_from([b"", b"", b"", b"sub/", b"sub/deeper/", b".hidden/"]))
    return folder + stem + suffix.encode()


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    name = draw(names())
    kind = draw(st.sampled_from(["file"] * 8 + ["pipe", "link"]))
    if kind == "link":
        target = draw(
            st.sampled_from([b"loop", b"missing.txt", b"../outside.txt", b"..", b".", b"other"])
        )
        return Entry(name, kind, target=target)
    if kind == "pipe":
        return Entry(name, kind)
    suffix = os.fsdecode(name).rsplit(".", 1)[-1].lower()
    fmt = FORMAT.get("." + suffix, "text")
    return Entry(name, kind, data=draw(contents(fmt)))


def _make(root: Path, folder: list[Entry]) -> None:
    """Write the folder; an entry whose name is taken (or not allowed) is left out."""
    base = os.fsencode(root)
    made: list[bytes] = []
    for entry in folder:
        path = base + b"/" + entry.name
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.lexists(path):
            continue
        try:
            if entry.kind == "file":
                with open(path, "wb") as f:
                    f.write(entry.data)
            elif entry.kind == "pipe":
                os.mkfifo(path)
            else:
                target = {b"loop": os.path.basename(path), b"other": made[0] if made else b"x"}
                os.symlink(target.get(entry.target, entry.target), path)
        except OSError as exc:  # a name too long for the file system
            assert exc.strerror in ("File name too long",), exc
            continue
        made.append(entry.name)


QUESTIONS = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(lambda w: " ".join(w) + "?"),
    st.text(max_size=60),
    st.sampled_from([
        "", "   ", "?", "²", ":k ²", "musk \udcff", "what is \x1b[2J the port", "a" * 3000,
        "the the the", "rotor" * 50, "how long does the rotor turn", "what port",
        "pip install widget", "Widget 2.1", "e\u0301", "\u202e rotor", "port?\n\nrotor?",
    ]),
)  # fmt: skip

# what a terminal must never receive from a document or a name (bot.printable's set)
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")

# --- the test ---------------------------------------------------------------------------


def _key(chunk) -> tuple:  # type: ignore[no-untyped-def]
    return tuple(v for k, v in chunk.model_dump().items() if k != "id")


def _within(seconds: float, work: Callable[[], None]) -> None:
    """Run ``work``, failing if it runs longer than ``seconds`` (a hang cannot be
    interrupted: its thread is left behind, a daemon)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"one example ran longer than {seconds:g} s: a hang")
    if outcome[0] is not None:
        raise outcome[0]


def _shown(answer) -> str:  # type: ignore[no-untyped-def]
    """What ``docqa ask`` prints, and what ``docqa ask --json`` prints."""
    text = format_answer(answer, color=False, width=80)
    return text + "\n" + json_printable(json.dumps(answer_json(answer), ensure_ascii=False))


def check_folder(root: Path, data: Path, questions: list[str], events: list[str]) -> None:
    try:
        fresh = build_index(root, CONFIG)
    except NoDocumentsError:
        events.append("no usable document")
        with pytest.raises(NoDocumentsError):
            open_index(root, data, CONFIG)
        return
    events.append(f"documents: {min(len(fresh.sources()), 3)}+, skipped: {min(len(fresh.skipped), 3)}+")
    index, report = open_index(root, data, CONFIG)
    assert report.action == "built"
    assert sorted(_key(c) for c in index.chunks) == sorted(_key(c) for c in fresh.chunks)
    assert sorted(map(repr, index.skipped)) == sorted(map(repr, fresh.skipped))
    # what was saved is what the next start loads, pipes and links included
    index, report = open_index(root, data, CONFIG)
    assert (report.action, report.changes.stale) == ("loaded", False), report.changes
    assert sorted(_key(c) for c in index.chunks) == sorted(_key(c) for c in fresh.chunks)
    for shown in [format_sources(index.sources(), index.skipped)]:
        shown.encode("utf-8")
        assert not UNSAFE.search(shown), shown
    engine = Engine(index)
    history: list[str] = []
    documents: dict = {}
    for question in questions:
        try:
            answer = engine.ask(question, history=tuple(history))
        except QuestionError:
            events.append("question refused")
            continue
        events.append("abstained" if answer.abstained else "answered")
        events.append(f"passages cited: {min(len(answer.passages), 3)}+")
        history.append(question)
        for passage in answer.passages:
            assert verify_citation(root, passage, documents), passage
            assert not passage.stale, passage
            assert engine.source_lines(passage) is not None, passage
        assert all(1 <= s.passage <= len(answer.passages) for s in answer.sentences)
        shown = _shown(answer)
        shown.encode("utf-8")  # strict: a lone surrogate from a name would raise
        assert not UNSAFE.search(shown), shown


@PROFILE
@given(
    folder=st.lists(entries(), min_size=1, max_size=7),
    questions=st.lists(QUESTIONS, min_size=1, max_size=3),
)
def test_any_folder_and_any_question(folder: list[Entry], questions: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp)
        (top / "outside.txt").write_text("The rotor secret is 1234, outside the folder.\n")
        root = top / "docs"
        root.mkdir()
        _make(root, folder)

        events: list[str] = []  # hypothesis counts them (--hypothesis-show-statistics)

        def example() -> None:
            try:
                check_folder(root, top / "data", questions, events)
            except AssertionError:
                raise
            except DocqaError:
                pass  # docqa's own errors are answers (no documents, a bad question)

        _within(WATCHDOG, example)
        for name in events:
            event(name)
