"""The AsciiDoc reader: display text, typed blocks, heading paths and source lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import block_rows

from index.loaders import Skipped, load_file
from index.models import Document

MANUAL = """
    = Widget Manual
    Ada Lovelace <ada@example.org>
    :url-docs: https://docs.example.org
    :version: 2.1
    ifdef::env-github[:tip-caption: :bulb:]

    Widget {version} reads *AsciiDoc* and _Markdown_.
    See the {url-docs}/start[getting started guide] or xref:install.adoc[Install].

    // a comment line
    ////
    |===
    |hidden table
    |===
    ////

    ifndef::env-site[]
    Shown everywhere.
    endif::[]

    == Install

    . Download the `widget` archive
    . Unpack it
    ** into `/opt`
    * [x] checked

    TIP: Keep the archive.

    [NOTE]
    ====
    Needs 2 GB of disk.
    ====

    .Sidebar title
    ****
    A sidebar paragraph.
    ****

     $ widget --version

    [source,bash]
    ----
    # install
    widget install
    ----

    ....
    literal {version}
    ....

    == Options

    [cols="1,2",options="header"]
    |===
    |Option |Meaning

    |--quiet
    |Print less

    |--jobs |Parallel jobs
    |===

    CPU:: Number of cores
    Memory:: Free RAM
    """

INLINE = """
    == Inline

    Use `+include::[]+` here, see <<gem-install,the gem section>> or link:README.adoc[the readme^].
    AsciiDoc is the language. +
    Asciidoctor is the processor.

    image::shot.png[Preview of the output]

    [[gem-install]]
    |===
    |Name |Value

    |size |{empty}2 GB
    |===
    """


def _load(root: Path, name: str, text: str) -> Document | Skipped:
    (root / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return load_file(root, root / name, name)


def test_the_common_subset_reads_as_rendered(tmp_path: Path) -> None:
    doc = _load(tmp_path, "manual.adoc", MANUAL)
    assert isinstance(doc, Document)
    title = ("Widget Manual",)
    install = (*title, "Install")
    options = (*title, "Options")
    assert block_rows(doc) == [
        ("heading", "Widget Manual", title, 1, 1),
        (
            "paragraph",
            "Widget 2.1 reads AsciiDoc and Markdown. See the getting started guide or Install.",
            title,
            7,
            8,
        ),
        # the conditional's lines are dropped, its content kept; comments are not text
        ("paragraph", "Shown everywhere.", title, 18, 18),
        ("heading", "Install", install, 21, 21),
        ("list_item", "Download the widget archive", install, 23, 23),
        ("list_item", "Unpack it", install, 24, 24),
        ("list_item", "into /opt", install, 25, 25),
        ("list_item", "checked", install, 26, 26),
        ("quote", "Keep the archive.", install, 28, 28),
        ("quote", "Needs 2 GB of disk.", install, 32, 32),
        ("paragraph", "Sidebar title", install, 35, 35),
        ("quote", "A sidebar paragraph.", install, 37, 37),
        ("code", "$ widget --version", install, 40, 40),
        ("code", "# install\nwidget install", install, 44, 45),
        ("code", "literal {version}", install, 49, 49),  # verbatim: no substitution
        ("heading", "Options", options, 52, 52),
        # a row whose cells stand on two lines cites both
        ("table_row", "Option: --quiet, Meaning: Print less", options, 58, 59),
        ("table_row", "Option: --jobs, Meaning: Parallel jobs", options, 61, 61),
        ("list_item", "CPU: Number of cores", options, 64, 64),
        ("list_item", "Memory: Free RAM", options, 65, 65),
    ]
    # the header is metadata, never text; attribute entries are kept as strings
    assert doc.metadata == {
        "title": "Widget Manual",
        "author": "Ada Lovelace",
        "url-docs": "https://docs.example.org",
        "version": "2.1",
    }
    assert doc.locate(doc.text.index("Meaning: Print less")) == (59, None)
    assert "docs.example.org" not in doc.text and "hidden table" not in doc.text


def test_links_passthroughs_breaks_images_and_implicit_table_headers(tmp_path: Path) -> None:
    doc = _load(tmp_path, "inline.adoc", INLINE)
    assert isinstance(doc, Document)
    path = ("Inline",)
    assert block_rows(doc) == [
        ("heading", "Inline", path, 1, 1),
        (
            "paragraph",
            "Use include::[] here, see the gem section or the readme. "
            "AsciiDoc is the language.\nAsciidoctor is the processor.",
            path,
            3,
            5,
        ),
        ("paragraph", "Preview of the output", path, 7, 7),
        # the first row on one line, then a blank line: the header
        ("table_row", "Name: size, Value: 2 GB", path, 13, 13),
    ]


def test_a_document_of_only_a_header_is_skipped(tmp_path: Path) -> None:
    assert _load(tmp_path, "a.adoc", "= Title\n:toc:\n// nothing else\n") == Skipped(
        "a.adoc", "no text (only markup, front matter or headings)"
    )


def test_pathological_lines_load(tmp_path: Path) -> None:
    text = "[" * 50_000 + "\n\n" + "*" * 50_000 + " x\n\n" + "+" * 50_000 + " y\n"
    doc = _load(tmp_path, "a.adoc", text)
    assert isinstance(doc, Document)
    assert [b.kind for b in doc.blocks] == ["paragraph", "paragraph", "paragraph"]


def test_an_attribute_bomb_is_skipped_at_the_per_file_bound(tmp_path: Path) -> None:
    # each entry refers to the value before it twice: 64 lines would make 2**64 characters
    # (a 700-byte file took minutes and then all the memory)
    text = ":a: ha\n" + ":a: {a}{a}\n" * 64 + "\n{a}\n"
    assert _load(tmp_path, "bomb.adoc", text) == Skipped(
        "bomb.adoc", "more than 20,000,000 characters of text (the per-file bound)"
    )
    # a few doublings are an ordinary document
    doc = _load(tmp_path, "ok.adoc", ":a: ha\n" + ":a: {a}{a}\n" * 3 + "\nLaugh: {a}.\n")
    assert isinstance(doc, Document) and doc.text == "Laugh: " + "ha" * 2**3 + "."
