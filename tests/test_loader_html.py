"""The HTML loader: a page's main content as typed blocks, each with its exact lines."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import BlockRow as Row
from conftest import block_rows

from index.chunking import ChunkingConfig, chunk_document
from index.citations import DocumentCache, verify_citation
from index.loaders import LOADERS, Unreadable, load_file
from index.loaders import html as html_loader
from index.models import Document, Passage

FIXTURES = Path(__file__).parent / "fixtures" / "html"

def _page(text: str) -> list[Row]:
    return block_rows(html_loader.load_html("page.html", text))


def _fixture(name: str) -> Document:
    doc = load_file(FIXTURES, FIXTURES / name, name)
    assert isinstance(doc, Document)
    return doc


def test_html_suffixes_are_read() -> None:
    assert {s for s, loader in LOADERS.items() if loader is html_loader.load} == {
        ".htm",
        ".html",
        ".xhtml",
    }


def test_visible_text_headings_and_source_lines(docs_dir: Path) -> None:
    doc = load_file(docs_dir, docs_dir / "faq.html", "faq.html")
    assert isinstance(doc, Document)
    assert block_rows(doc) == [
        ("heading", "Widget FAQ", ("Widget FAQ",), 4, 4),
        (
            "paragraph",
            "The widget supports three colour modes: dark, light and sepia.",
            ("Widget FAQ",),
            5,
            6,
        ),
        ("heading", "Pricing", ("Widget FAQ", "Pricing"), 7, 7),
        ("paragraph", "A licence costs €49 per seat per year.", ("Widget FAQ", "Pricing"), 8, 8),
    ]
    assert "zebra" not in doc.text and "color" not in doc.text
    assert doc.metadata == {"title": "Widget FAQ"}


DOCS_SITE = [
    ("heading", "Configuration", ("Configuration",), 33, 33),
    (
        "paragraph",
        "Widget reads its settings from widget.toml in the working directory.",
        ("Configuration",),
        34,
        35,
    ),
    ("heading", "Options", ("Configuration", "Options"), 36, 36),
    (
        "table_row",
        "Option: timeout, Default: 30, Meaning: Seconds to wait for a reply.",
        ("Configuration", "Options"),
        42,
        42,
    ),
    (
        "table_row",
        "Option: retries, Default: 3, Meaning: How often to try again.",
        ("Configuration", "Options"),
        43,
        43,
    ),
    ("quote", "Warning", ("Configuration", "Options"), 47, 47),
    ("quote", "A timeout of 0 waits forever.", ("Configuration", "Options"), 48, 48),
    ("heading", "Example", ("Configuration", "Example"), 50, 50),
    (
        "code",
        "[server]\ntimeout = 10\n  # indented comment\nretries = 5",
        ("Configuration", "Example"),
        51,
        54,
    ),
]


def test_docs_site_page_keeps_its_main_content_only() -> None:
    """Skip link, cookie banner, site header and nav, sidebar, breadcrumbs, ¶ anchors and
    footer are dropped; the table reads by row, the admonition as quotes, the code by line."""
    doc = _fixture("docs_site.html")
    assert block_rows(doc) == DOCS_SITE
    assert doc.metadata == {
        "title": "Configuration — Widget 2.1 documentation",
        "description": "How to configure Widget.",
    }
    code = doc.blocks[-1]
    lines = [doc.locate(doc.text.index(s, code.start))[0] for s in ("timeout", "#", "retries")]
    assert lines == [52, 53, 54]


def test_docs_site_without_main_loses_the_same_chrome() -> None:
    text = (FIXTURES / "docs_site.html").read_text()
    text = text.replace('<main id="content">', '<div id="content">').replace("</main>", "</div>")
    assert _page(text) == DOCS_SITE


LUASOCKET = [
    ("heading", "LuaSocket: TCP/IP support", ("LuaSocket: TCP/IP support",), 6, 6),
    ("heading", "TCP", ("LuaSocket: TCP/IP support", "TCP"), 36, 36),
    (
        "paragraph",
        "client:receive([pattern [, prefix]])",
        ("LuaSocket: TCP/IP support", "TCP"),
        39,
        39,
    ),
    (
        "paragraph",
        "Reads data from a client object, according to the specified read pattern. "
        "Patterns follow the Lua file I/O format:",
        ("LuaSocket: TCP/IP support", "TCP"),
        43,
        44,
    ),
    (
        "list_item",
        "'*a': reads from the socket until the connection is closed;",
        ("LuaSocket: TCP/IP support", "TCP"),
        48,
        49,
    ),
    (
        "list_item",
        "'*l': reads a line of text. The line is terminated by a LF character (ASCII 10);",
        ("LuaSocket: TCP/IP support", "TCP"),
        50,
        51,
    ),
    ("paragraph", "socket.sleep(time)", ("LuaSocket: TCP/IP support", "TCP"), 55, 55),
    (
        "paragraph",
        "Freezes the program execution during a given amount of time.",
        ("LuaSocket: TCP/IP support", "TCP"),
        59,
        59,
    ),
    (
        "code",
        "-- wait half a second\nsocket.sleep(0.5)",
        ("LuaSocket: TCP/IP support", "TCP"),
        63,
        64,
    ),
    (
        "paragraph",
        "MIME headers are represented as a Lua table in the form:",
        ("LuaSocket: TCP/IP support", "TCP"),
        68,
        68,
    ),
    (
        "code",
        "headers = {\n  field-1-name = field-1-value,\n  field-n-name = field-n-value\n}",
        ("LuaSocket: TCP/IP support", "TCP"),
        74,
        77,
    ),
    ("list_item", "TCP (in socket)", ("LuaSocket: TCP/IP support", "TCP"), 83, 83),
    ("list_item", "accept, bind, close.", ("LuaSocket: TCP/IP support", "TCP"), 85, 87),
]


@pytest.mark.parametrize("classes", [True, False], ids=["header/footer classes", "bare divs"])
def test_luasocket_page_loses_logo_link_bars_and_last_modified(classes: bool) -> None:
    """Inline tags add no spaces, the layout table of code is code, the blockquote index
    reads as a list; without the header/footer classes the boilerplate rules (a leading
    run of link bars and short lines, a closing bar repeated from the top, a "Last
    modified" line) drop the same chrome."""
    text = (FIXTURES / "luasocket.html").read_text()
    if not classes:
        for name in ("header", "footer"):
            text = text.replace(f'<div class="{name}">', "<div>")
    assert _page(text) == LUASOCKET


def test_ldoc_page_sidebar_dropped_and_function_terms_are_headings() -> None:
    """Each dt of an LDoc function list heads its dd's blocks (headings inside the dd go
    under it), so a parameter or a usage line is found under its function's name."""
    doc = _fixture("ldoc.html")
    module = "Module pl.stringx"
    strip = (module, "Functions", "strip (s[, chrs])")
    wrap = (module, "Functions", "wrap (s[, width=70[, breaklong=false]])")
    assert block_rows(doc) == [
        ("heading", module, (module,), 51, 51),
        ("paragraph", "Python-style extended string library.", (module,), 52, 52),
        ("heading", "Functions", (module, "Functions"), 54, 54),
        (
            "table_row",
            "strip (s[, chrs]): trim any characters on both left and right of a string.",
            (module, "Functions"),
            57,
            58,
        ),
        (
            "table_row",
            "wrap (s[, width=70[, breaklong=false]]): format a paragraph into lines so that "
            "they fit into a line width.",
            (module, "Functions"),
            61,
            62,
        ),
        ("heading", "Functions", (module, "Functions"), 70, 70),
        ("heading", "strip (s[, chrs])", strip, 75, 75),
        ("paragraph", "trim any characters on both left and right of a string.", strip, 78, 78),
        ("heading", "Parameters:", (*strip, "Parameters:"), 81, 81),
        ("list_item", "s string the string", (*strip, "Parameters:"), 83, 85),
        (
            "list_item",
            "chrs string default any whitespace character, but can be a string of characters "
            "to be trimmed (optional)",
            (*strip, "Parameters:"),
            87,
            90,
        ),
        ("heading", "wrap (s[, width=70[, breaklong=false]])", wrap, 101, 101),
        (
            "paragraph",
            "format a paragraph into lines so that they fit into a line width.",
            wrap,
            104,
            104,
        ),
        ("heading", "Usage:", (*wrap, "Usage:"), 107, 107),
        (
            "code",
            "local lines = stringx.wrap(text, 40)\nfor _, line in ipairs(lines) do print(line) end",
            (*wrap, "Usage:"),
            109,
            110,
        ),
    ]
    assert doc.metadata == {"title": "Penlight Documentation"}


def test_headings_after_a_list_of_term_headings_go_back_up() -> None:
    assert _page(
        "<h2>API</h2>\n<dl><dt>run()</dt><dd><p>Runs.</p><pre>run()</pre></dd></dl>\n<p>After.</p>"
    ) == [
        ("heading", "API", ("API",), 1, 1),
        ("heading", "run()", ("API", "run()"), 2, 2),
        ("paragraph", "Runs.", ("API", "run()"), 2, 2),
        ("code", "run()", ("API", "run()"), 2, 2),
        ("paragraph", "After.", ("API",), 3, 3),
    ]


def test_plain_definitions_read_term_colon_definition() -> None:
    assert _page(
        "<dl>\n<dt>timeout</dt><dd>Seconds to wait.</dd>\n"
        "<dt>-v</dt><dt>--verbose</dt>\n<dd><p>Say more.</p></dd>\n</dl>"
    ) == [
        ("list_item", "timeout: Seconds to wait.", (), 2, 2),
        ("list_item", "-v, --verbose: Say more.", (), 3, 4),
    ]


def test_tables_by_row() -> None:
    assert _page(
        "<table>\n<tr><th>Name</th><th>Size</th></tr>\n<tr><td>a.txt</td><td>3</td></tr>\n"
        "<tr><td colspan=2>total 3</td></tr>\n</table>"
    ) == [
        ("table_row", "Name: a.txt, Size: 3", (), 3, 3),
        ("table_row", "Name: total 3", (), 4, 4),
    ]
    # no header row: the first cell leads the others
    row = "<tr><td>dir ()</td><td>List a directory.</td><td>pure</td></tr>"
    assert _page(f"<table>{row}</table>") == [
        ("table_row", "dir (): List a directory., pure", (), 1, 1)
    ]
    # one column: a layout table, its cells are ordinary blocks
    assert _page("<table><tr><td><p>First.</p></td></tr>\n<tr><td>Second</td></tr></table>") == [
        ("paragraph", "First.", (), 1, 1),
        ("paragraph", "Second", (), 2, 2),
    ]


def test_line_number_gutters_are_not_code() -> None:
    """Pygments' table of line numbers beside the code, and its inline numbers."""
    assert _page(
        '<table class="highlighttable"><tr><td class="linenos"><div class="linenodiv"><pre>1\n'
        '2</pre></div></td><td class="code"><div class="highlight"><pre>import os\n'
        "print(os.sep)\n</pre></div></td></tr></table>"
    ) == [("code", "import os\nprint(os.sep)", (), 2, 3)]
    assert _page(
        '<pre><span class="linenos">1</span>x = 1\n<span class="linenos">2</span>y = 2</pre>'
    ) == [("code", "x = 1\ny = 2", (), 1, 2)]


def test_nested_list_items_are_blocks_of_their_own() -> None:
    assert _page(
        "<ul>\n<li>one\n<ul><li>one.a</li><li>one.b</li></ul>\nafter</li>\n<li>two</li>\n</ul>"
    ) == [
        ("list_item", "one", (), 2, 2),
        ("list_item", "one.a", (), 3, 3),
        ("list_item", "one.b", (), 3, 3),
        ("list_item", "after", (), 4, 4),
        ("list_item", "two", (), 5, 5),
    ]


def test_inline_text_whitespace_entities_and_line_breaks() -> None:
    assert _page(
        "<p>one<br>two<br><br>three</p>\n<p>a <b>b</b>c <i> d </i>\n   e</p>\n"
        "<p>&lt;a&gt; &amp; &#x110000; &nosuch; &amp x&nbsp;y \ufffd</p>"
    ) == [
        ("paragraph", "one\ntwo", (), 1, 1),
        ("paragraph", "three", (), 1, 1),
        ("paragraph", "a bc d e", (), 2, 3),
        ("paragraph", "<a> & \ufffd &nosuch; & x y \ufffd", (), 4, 4),
    ]


def test_title_heads_a_page_without_h1() -> None:
    page = "<title>Guide</title>\n<h2>Setup</h2>\n<p>Run it.</p>"
    assert _page(page) == [
        ("heading", "Guide", ("Guide",), 1, 1),
        ("heading", "Setup", ("Guide", "Setup"), 2, 2),
        ("paragraph", "Run it.", ("Guide", "Setup"), 3, 3),
    ]
    assert _page(page.replace("h2", "h1"))[0] == ("heading", "Setup", ("Setup",), 2, 2)
    assert _page(page.replace("Guide", "Setup"))[0] == ("heading", "Setup", ("Setup",), 2, 2)


def test_a_page_that_is_all_navigation_is_still_read() -> None:
    assert _page('<nav><a href="/docs">Docs</a> <a href="/blog">Blog</a></nav>') == [
        ("paragraph", "Docs Blog", (), 1, 1)
    ]


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b'<meta charset="windows-1251"><p>\xcf\xf0\xe8\xe2\xe5\xf2</p>', "Привет"),
        (
            b'<?xml version="1.0" encoding="ISO-8859-2"?><p>\xa3\xf3d\xbc</p>',
            "Łódź",
        ),
        (
            b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
            b"<p>\x93quoted\x94</p>",
            "“quoted”",
        ),
        (b"<p>caf\xe9</p>", "café"),  # not UTF-8, nothing declared: Windows-1252
        ("\ufeff<p>café</p>".encode("utf-16-le"), "café"),
        (b'\xef\xbb\xbf<meta charset="latin-1"><p>caf\xc3\xa9</p>', "café"),
    ],
    ids=["meta charset", "xml encoding", "latin-1 is windows-1252", "fallback", "utf-16", "bom"],
)
def test_encoding_from_bom_or_declaration(data: bytes, text: str) -> None:
    assert html_loader.load("page.html", data).text == text


def test_unreadable_pages_say_why(tmp_path: Path) -> None:
    with pytest.raises(Unreadable, match="^empty$"):
        html_loader.load("page.html", b" \n ")
    with pytest.raises(Unreadable, match="^no visible text$"):
        html_loader.load("page.html", b"<html><head><title>T</title></head><body> </body>")
    with pytest.raises(Unreadable, match="^binary"):
        html_loader.load("page.html", b"\x00\x01\x02<p>x</p>")


def test_every_chunk_of_every_fixture_cites_its_lines() -> None:
    config = ChunkingConfig(chunk_size=200, chunk_overlap=50)
    cache: DocumentCache = {}
    checked = 0
    for path in sorted(FIXTURES.glob("*.html")):
        doc = _fixture(path.name)
        for chunk in chunk_document(doc, config):
            passage = Passage.from_chunk(chunk)
            assert verify_citation(FIXTURES, passage, cache), (path.name, chunk)
            moved = passage.model_copy(
                update={"start_line": passage.end_line + 1, "end_line": passage.end_line + 1}
            )
            assert not verify_citation(FIXTURES, moved, cache), (path.name, chunk)
            checked += 1
    assert checked >= 12


NO_TEXT = "(skipped: no visible text)"
HOSTILE = {
    # html.parser's end-of-input pass is quadratic on these before CPython 3.11.13
    "end tag opened 39,000 times": ("</ " * 39_000, NO_TEXT),
    "unclosed tags": ("<p>kept</p>" + '<a href="' * 20_000, "kept"),
    "unclosed comments": ("<p>kept</p>" + "<!--" * 20_000, "kept"),
    "unclosed script": ("<p>kept</p><script>" + "</" * 50_000, "kept"),
    # nesting far deeper than a recursive walk could go
    "deeply nested tags": ("<div><blockquote><ul><li>" * 2_000 + "deep", "deep"),
    "unclosed inline tags": ("<p>" + "<b>x" * 5_000, "x" * 5_000),
    "a 1 MB line": ("<p>" + "word " * 200_000, ("word " * 200_000).strip()),
    "broken entities": (
        "<p>&#x110000; &#0; &nosuch; &amp; &#xD800; &" * 2_000,
        "\n\n".join(["\ufffd \ufffd &nosuch; & \ufffd &"] * 2_000),
    ),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_pages_load_or_skip_with_a_reason_in_linear_work(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The only superlinear path of html.parser, its end-of-input pass over markup left
    open, is never taken: what is left open at the end of the file is dropped instead."""
    text, expected = HOSTILE[name]
    end_passes: list[str] = []
    goahead = HTMLParser.goahead

    def spy(self: HTMLParser, end: bool) -> None:
        if end:
            end_passes.append(self.rawdata)
        goahead(self, end)

    monkeypatch.setattr(HTMLParser, "goahead", spy)
    try:
        got = html_loader.load("page.html", text.encode()).text
    except Unreadable as exc:
        got = f"(skipped: {exc})"
    assert got == expected
    assert end_passes and all("<" not in rest for rest in end_passes)


def test_the_work_bound_is_checked_while_a_page_is_parsed_and_rendered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page goes to html.parser by pieces of doubling size (1 MB, 2 MB, ...) with the
    per-file bound checked between them, and again every 256 blocks."""
    from index.loaders import html_tree

    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(html_tree, "check_work", lambda chars=0: calls.append(("parse", chars)))
    monkeypatch.setattr(html_loader, "check_work", lambda chars=0: calls.append(("render", chars)))
    paragraph = " ".join(["word"] * 200)  # 999 characters
    page = f"<p>{paragraph}</p>\n" * 3_200  # 3.2 MB, 3,200 blocks
    doc = html_loader.load("page.html", page.encode())
    assert len(doc.blocks) == 3_200
    assert [c for c in calls if c[0] == "parse"] == [("parse", 0)] * 3  # 1 + 2 + 0.2 MB
    renders = [chars for kind, chars in calls if kind == "render"]
    assert renders == [n * 256 * 999 for n in range(1, 3_200 // 256 + 1)]
