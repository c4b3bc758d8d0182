"""The reStructuredText loader: display text as Sphinx renders it, blocks, exact lines."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, block_rows, failing_citations, shared_dataset

from index.chunking import ChunkingConfig
from index.loaders import Skipped, load_file
from index.models import Document
from index.store import open_index

GUIDE = """\
:orphan:

.. _guide:

Widget Guide
============

.. currentmodule:: widget

Install the widget with :command:`pip` and read :ref:`the settings <settings>`.
Call :meth:`~widget.Widget.start` or :func:`widget.run` to begin; see :doc:`/faq`.

.. toctree::
   :maxdepth: 2

   faq
   changelog

Installing
----------

.. tabs::

   .. group-tab:: Bash

      .. code-block:: console
         :caption: Unix shells
         :emphasize-lines: 2

         $ pip install widget
         $ widget --version

   .. group-tab:: CMD

      .. code-block:: text

         > py -m pip install widget

The installer needs:

* Python 3.10 or newer
* a C compiler, only for
  the ``fast`` extra

#. Download the archive.
#. Unpack it::

      tar xf widget.tar.gz

.. note::
   The ``fast`` extra is optional.

.. warning::

   Never run the installer as **root**.

.. admonition:: Offline installs

   Copy the wheel first.

.. versionadded:: 2.0

.. versionchanged:: 2.1
   The installer checks the checksum.

Settings
~~~~~~~~

.. py:data:: WIDGET_TIMEOUT
   :type: int

   Seconds to wait for the device.

   Default: ``30``

.. autofunction:: widget.configure

==========  =========================
Setting     Meaning
==========  =========================
``color``   The widget's colour
``size``    ``small`` or ``large``
==========  =========================

+---------+-----------------+
| Mode    | Power           |
+=========+=================+
| eco     | 5 W, the        |
|         | default         |
+---------+-----------------+
| turbo   | 20 W            |
+---------+-----------------+

:Author: Jane Doe
:Version: 2.1

timeout
    Seconds to wait.

retries
    How often to try again.

.. image:: widget.png
   :alt: A widget.

.. include:: secret.txt

.. raw:: html
   :url: http://127.0.0.1:9/never-fetched

.. unknown-thing:: something
   :option: value

   Text inside an unknown directive.

Use :unknownrole:`frobnicate` with care and |undefined|.

Troubleshooting
```````````````

>>> import widget
>>> widget.ok()
True
"""


def _blocks(doc: Document) -> list[tuple[str, str, int, int, tuple[str, ...]]]:
    """Each block as (kind, display text, first line, last line, heading path)."""
    return [(kind, text, first, last, path) for kind, text, path, first, last in block_rows(doc)]


@pytest.fixture
def guide(tmp_path: Path) -> Path:
    (tmp_path / "guide.rst").write_text(GUIDE, encoding="utf-8")
    (tmp_path / "secret.txt").write_text("TOP SECRET included text\n", encoding="utf-8")
    return tmp_path


def test_blocks_display_text_and_exact_lines(guide: Path) -> None:
    doc = load_file(guide, guide / "guide.rst", "guide.rst")
    assert isinstance(doc, Document)
    top = ("Widget Guide",)
    inst = (*top, "Installing")
    sett = (*inst, "Settings")
    assert _blocks(doc) == [
        ("heading", "Widget Guide", 5, 5, top),
        (
            "paragraph",
            "Install the widget with pip and read the settings.\n"
            "Call start or widget.run to begin; see faq.",
            10, 11, top,
        ),
        ("heading", "Installing", 19, 19, inst),
        ("paragraph", "Bash:", 24, 24, inst),
        ("paragraph", "Unix shells:", 27, 27, inst),
        ("code", "$ pip install widget\n$ widget --version", 30, 31, inst),
        ("paragraph", "CMD:", 33, 33, inst),
        ("code", "> py -m pip install widget", 37, 37, inst),
        ("paragraph", "The installer needs:", 39, 39, inst),
        ("list_item", "Python 3.10 or newer", 41, 41, inst),
        ("list_item", "a C compiler, only for\nthe fast extra", 42, 43, inst),
        ("list_item", "Download the archive.", 45, 45, inst),
        ("list_item", "Unpack it:", 46, 46, inst),
        ("code", "tar xf widget.tar.gz", 48, 48, inst),
        ("quote", "Note: The fast extra is optional.", 50, 51, inst),
        ("quote", "Warning: Never run the installer as root.", 53, 55, inst),
        ("quote", "Offline installs", 57, 57, inst),
        ("quote", "Copy the wheel first.", 59, 59, inst),
        ("quote", "Added in version 2.0.", 61, 61, inst),
        ("quote", "Changed in version 2.1: The installer checks the checksum.", 63, 64, inst),
        ("heading", "Settings", 66, 66, sett),
        ("heading", "WIDGET_TIMEOUT", 69, 69, (*sett, "WIDGET_TIMEOUT")),
        ("paragraph", "Seconds to wait for the device.", 72, 72, (*sett, "WIDGET_TIMEOUT")),
        ("paragraph", "Default: 30", 74, 74, (*sett, "WIDGET_TIMEOUT")),
        ("table_row", "Setting: color, Meaning: The widget's colour", 81, 81, sett),
        ("table_row", "Setting: size, Meaning: small or large", 82, 82, sett),
        ("table_row", "Mode: eco, Power: 5 W, the default", 88, 88, sett),
        ("table_row", "Mode: turbo, Power: 20 W", 91, 91, sett),
        ("list_item", "Author: Jane Doe", 94, 94, sett),
        ("list_item", "Version: 2.1", 95, 95, sett),
        ("list_item", "timeout: Seconds to wait.", 97, 98, sett),
        ("list_item", "retries: How often to try again.", 100, 101, sett),
        ("paragraph", "Text inside an unknown directive.", 114, 114, sett),
        ("paragraph", "Use frobnicate with care and |undefined|.", 116, 116, sett),
        ("heading", "Troubleshooting", 118, 118, (*sett, "Troubleshooting")),
        ("code", ">>> import widget\n>>> widget.ok()\nTrue", 121, 123, (*sett, "Troubleshooting")),
    ]  # fmt: skip
    assert doc.kind == "rst"
    assert doc.metadata == {"orphan": ""}  # a leading field list is Sphinx's page metadata
    assert "TOP SECRET" not in doc.text  # .. include:: reads no file
    assert failing_citations(guide) == []


@pytest.mark.parametrize(
    ("markup", "shown"),
    [
        (":meth:`~flask.Flask.run`", "run"),
        (":class:`.Flask`", "Flask"),
        (":meth:`~.Flask.app_context`", "app_context"),
        (":func:`flask.url_for`", "flask.url_for"),
        (":attr:`TestResponse.history <werkzeug.test.TestResponse.history>`",
         "TestResponse.history"),
        (":ref:`the settings <settings>`", "the settings"),
        (":doc:`/patterns/appfactories`", "patterns/appfactories"),
        (":file:`.venv/bin/{name}.py`", ".venv/bin/name.py"),
        (":pep:`8`", "PEP 8"),
        (":py:data:`~widget.TIMEOUT`", "TIMEOUT"),
        ("``--port 8000``", "--port 8000"),
        ("`Werkzeug <https://werkzeug.palletsprojects.com/>`_", "Werkzeug"),
        ("**Do not** use it", "Do not use it"),
    ],
)
def test_roles_and_inline_markup_read_as_rendered(tmp_path: Path, markup: str, shown: str) -> None:
    (tmp_path / "a.rst").write_text(f"Use {markup} here.\n", encoding="utf-8")
    doc = load_file(tmp_path, tmp_path / "a.rst", "a.rst")
    assert isinstance(doc, Document)
    assert doc.text == f"Use {shown} here."


def test_a_label_before_code_stands_on_its_own(tmp_path: Path) -> None:
    (tmp_path / "a.rst").write_text(
        ".. tip::\n\n   .. code-block:: sh\n\n      $ widget --fast\n\n"
        "FAST_MODE\n    ::\n\n        widget.fast = True\n\n"
        "Widgets are fast [#f1]_.\n\n.. [#f1] Measured on a laptop.\n",
        encoding="utf-8",
    )
    doc = load_file(tmp_path, tmp_path / "a.rst", "a.rst")
    assert isinstance(doc, Document)
    assert _blocks(doc) == [
        ("quote", "Tip:", 1, 1, ()),
        ("code", "$ widget --fast", 5, 5, ()),
        ("list_item", "FAST_MODE:", 7, 7, ()),
        ("code", "widget.fast = True", 10, 10, ()),
        ("paragraph", "Widgets are fast [1].", 12, 12, ()),
        ("paragraph", "[1] Measured on a laptop.", 14, 14, ()),
    ]


def test_docutils_says_nothing_on_stdout_or_stderr(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.rst").write_text(
        "Title\n=====\n\n.. list-table::\n   :header-rows: 9\n\n   * - a\n\n"
        "Text with |nosuch| and :nosuchrole:`x`.\n\n"
        ".. csv-table:: From a file\n   :file: /etc/passwd\n\n"
        "Short\n==\n",
        encoding="utf-8",
    )
    doc = load_file(tmp_path, tmp_path / "bad.rst", "bad.rst")
    assert isinstance(doc, Document)
    assert capfd.readouterr() == ("", "")
    assert "System Message" not in doc.text and "root:" not in doc.text
    assert [doc.text[b.start : b.end] for b in doc.blocks] == [
        "Title",
        "a",  # the malformed list-table keeps its text
        "Text with |nosuch| and x.",
        "From a file",  # the table's title; its file is never read
        "Short\n==",  # an underline too short: docutils reads a paragraph
    ]


def test_a_line_docutils_refuses_reads_the_file_as_plain_text(tmp_path: Path) -> None:
    (tmp_path / "long.rst").write_text(
        "Title\n=====\n\n" + "word " * 3000 + "\n\nLast ``paragraph``.\n", encoding="utf-8"
    )
    doc = load_file(tmp_path, tmp_path / "long.rst", "long.rst")
    assert isinstance(doc, Document)
    assert doc.kind == "rst"
    assert [(doc.text[b.start : b.end][:12], doc.locate(b.start)[0]) for b in doc.blocks] == [
        ("Title", 1),
        ("=====", 2),
        ("word word wo", 4),
        ("Last ``parag", 6),
    ]


def test_nesting_deeper_than_docutils_goes_reads_as_plain_text(tmp_path: Path) -> None:
    (tmp_path / "deep.rst").write_text(
        "".join("  " * i + "- item\n\n" for i in range(400)), encoding="utf-8"
    )
    doc = load_file(tmp_path, tmp_path / "deep.rst", "deep.rst")
    assert isinstance(doc, Document)
    assert (len(doc.blocks), doc.text[doc.blocks[-1].start : doc.blocks[-1].end]) == (
        400,
        "- item",
    )


def test_an_empty_page_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "empty.rst").write_text(".. toctree::\n\n   a\n   b\n", encoding="utf-8")
    assert load_file(tmp_path, tmp_path / "empty.rst", "empty.rst") == Skipped(
        "empty.rst", "no text"
    )


def test_every_devdocs_rst_citation_holds() -> None:
    folder = shared_dataset("devdocs")
    if folder is None:
        pytest.skip("shared/datasets/devdocs is not beside the checkout")
    assert failing_citations(folder / "rst") == []


def test_docqa_ask_on_a_saved_index_does_not_import_docutils(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.rst").write_text(GUIDE, encoding="utf-8")
    open_index(docs, tmp_path / "data", ChunkingConfig())  # builds and saves it
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from index.chunking import ChunkingConfig\n"
        "from index.retrieval import Engine\n"
        "from index.store import open_index\n"
        "index, report = open_index(Path(sys.argv[1]), Path(sys.argv[2]), ChunkingConfig())\n"
        "answer = Engine(index).ask('how long is the widget timeout')\n"
        "print(report.action, answer.passages[0].heading)\n"
        "print('docutils' in sys.modules, 'docx' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-c", script, str(docs), str(tmp_path / "data")]
    done = subprocess.run(run, capture_output=True, text=True, env=env, check=True)
    assert done.stdout == (
        "loaded Widget Guide > Installing > Settings > WIDGET_TIMEOUT\nFalse False\n"
    )


def test_the_time_bound_stops_docutils_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docutils parses a file in one call: 1 MB of short sections took it 26 s, and the
    # bound was only checked after that call
    import docutils.core

    from index import loaders

    returned: list[bool] = []
    publish = docutils.core.publish_doctree

    def spy(*args: object, **kwargs: object) -> object:
        tree = publish(*args, **kwargs)
        returned.append(True)
        return tree

    monkeypatch.setattr(docutils.core, "publish_doctree", spy)
    ticks = itertools.chain([0.0, 0.0], itertools.repeat(31.0))  # late from the parse on
    monkeypatch.setattr(loaders, "_clock", lambda: next(ticks))
    sections = "".join(f"Title {i}\n{'=-~^'[i % 4] * 12}\n\nText {i}.\n\n" for i in range(600))
    (tmp_path / "long.rst").write_text(sections, encoding="utf-8")
    assert load_file(tmp_path, tmp_path / "long.rst", "long.rst") == Skipped(
        "long.rst", "took more than 30 s to read (the per-file time bound)"
    )
    assert returned == []  # stopped inside the parse
