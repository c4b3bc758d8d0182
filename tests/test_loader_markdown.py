"""The Markdown and MDX loaders: display text, typed blocks, heading paths and source lines."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import block_rows
from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunking import ChunkingConfig
from index.citations import verify_citation
from index.loaders import Skipped, load_file
from index.loaders.markdown import _parser, inline_segments
from index.loaders.mdinline import display_segments
from index.models import Document, Passage
from index.retrieval import build_index

ROOT = Path(__file__).resolve().parent.parent

def _load(root: Path, name: str, text: str) -> Document:
    (root / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    doc = load_file(root, root / name, name)
    assert isinstance(doc, Document), doc
    return doc


PAGE = """
    ---
    title: "Installing Widget"
    weight: 20
    draft: false
    tags: [install, setup]
    menu:
      docs:
        parent: guides
    ---

    # Installing Widget

    Widget installs with one command. Run it from the
    folder that holds `pyproject.toml`; the installer needs
    **2 GB** of free disk space.

    Getting help
    ============

    See the [FAQ](https://example.org/faq "FAQ") or *ask* on
    the ![forum logo](logo.png) forum &mdash; <b>politely</b>.

    Options
    -------

    | Option | Default | Meaning |
    | --- | --- | --- |
    | `--quiet` | off | Print less |
    | `--jobs` | | Parallel jobs |

    ```bash
    # install the widget
    widget install --quiet
    ```

        indented code
          keeps its indent

    - First step
    - Second step
      - nested detail
      - [x] done detail

      More about the second step.
    1. Numbered one
    """


def test_a_page_reads_as_its_rendered_text(tmp_path: Path) -> None:
    doc = _load(tmp_path, "page.md", PAGE)
    title = ("Installing Widget",)
    help_ = (*title, "Getting help")
    options = (*help_, "Options")
    assert block_rows(doc) == [
        # the first "#" heading says the title: it is not repeated, and stays the root
        ("heading", "Installing Widget", title, 11, 11),
        (
            "paragraph",
            "Widget installs with one command. Run it from the folder that holds "
            "pyproject.toml; the installer needs 2 GB of free disk space.",
            title,
            13,
            15,
        ),
        ("heading", "Getting help", help_, 17, 17),  # setext, level 1
        ("paragraph", "See the FAQ or ask on the forum logo forum — politely.", help_, 20, 21),
        ("heading", "Options", options, 23, 23),  # setext, level 2
        # the header row is no block of its own; an empty cell is left out
        ("table_row", "Option: --quiet, Default: off, Meaning: Print less", options, 28, 28),
        ("table_row", "Option: --jobs, Meaning: Parallel jobs", options, 29, 29),
        ("code", "# install the widget\nwidget install --quiet", options, 32, 33),
        ("code", "indented code\n  keeps its indent", options, 36, 37),
        ("list_item", "First step", options, 39, 39),
        ("list_item", "Second step", options, 40, 40),
        ("list_item", "nested detail", options, 41, 41),
        ("list_item", "done detail", options, 42, 42),
        ("list_item", "More about the second step.", options, 44, 44),
        ("list_item", "Numbered one", options, 45, 45),
    ]
    assert doc.metadata == {
        "title": "Installing Widget",
        "weight": "20",
        "draft": "false",
        "tags": "install, setup",
        "menu.docs.parent": "guides",
    }
    # each source line of the wrapped paragraph is its own anchor
    for word, line in [("Widget installs", 13), ("folder that", 14), ("2 GB", 15)]:
        assert doc.locate(doc.text.index(word)) == (line, None)
    # the tokenizer never sees a link target or an image's URL
    assert "example.org" not in doc.text and "logo.png" not in doc.text


def test_toml_front_matter_title_becomes_the_first_heading(tmp_path: Path) -> None:
    doc = _load(
        tmp_path,
        "a.md",
        """
        +++
        weight = 3
        title = "Activating"
        tags = ["env", "shell"]
        +++

        Activate the environment first.
        """,
    )
    assert block_rows(doc) == [
        ("heading", "Activating", ("Activating",), 3, 3),
        ("paragraph", "Activate the environment first.", ("Activating",), 7, 7),
    ]
    assert doc.metadata == {"weight": "3", "title": "Activating", "tags": "env, shell"}


def test_a_hash_line_in_a_fence_is_code(tmp_path: Path) -> None:
    doc = _load(
        tmp_path,
        "a.md",
        """
        # Title

        ````md
        # not a heading
        ```sh
        echo hi
        ```
        ````

        ```toml
        # a comment line
        [tool.poetry]
        ```
        """,
    )
    assert block_rows(doc) == [
        ("heading", "Title", ("Title",), 1, 1),
        ("code", "# not a heading\n```sh\necho hi\n```", ("Title",), 4, 7),
        ("code", "# a comment line\n[tool.poetry]", ("Title",), 11, 12),
    ]


HUGO = """
    +++
    title = "Activating"
    +++

    Read the [configuration]({{< relref "configuration#venv" >}} "Config") first.

    {{< tabs tabTotal="2" tabID1="bash" tabID2="fish" tabName1="Bash" tabName2="Fish" >}}
    {{< tab tabID="bash" >}}
    ```bash
    eval $(poetry env activate)
    ```
    {{< /tab >}}
    {{< tab tabID="fish" >}}
    ```fish
    eval (poetry env activate)
    ```
    {{< /tab >}}
    {{< /tabs >}}

    {{% note %}}
    Version 1.2 dropped Python 2.7.
    {{% /warning %}}

    {{< steps >}}
    {{< step >}}
    **Install pipx**
    {{< /step >}}
    {{< /steps >}}

    > A plain quote
    > over two lines.

    > [!NOTE]
    > GitHub alert text.

    !!! note
        Admonition body.

    !!! warning "Mind the gap"
        Between train and platform.

    <div class="box">
      <p>Boxed &amp; <em>styled</em> text.</p>
    </div>
    """


def test_hugo_shortcodes_admonitions_quotes_and_html(tmp_path: Path) -> None:
    doc = _load(tmp_path, "hugo.md", HUGO)
    path = ("Activating",)
    assert block_rows(doc) == [
        ("heading", "Activating", path, 2, 2),
        ("paragraph", "Read the configuration first.", path, 5, 5),
        ("paragraph", "Bash", path, 8, 8),  # a tab's name, from the tabs shortcode
        ("code", "eval $(poetry env activate)", path, 10, 10),
        ("paragraph", "Fish", path, 13, 13),
        ("code", "eval (poetry env activate)", path, 15, 15),
        # {{% note %}} closed by a mismatched {{% /warning %}}
        ("quote", "Version 1.2 dropped Python 2.7.", path, 21, 21),
        ("paragraph", "Install pipx", path, 26, 26),
        ("quote", "A plain quote over two lines.", path, 30, 31),
        ("quote", "GitHub alert text.", path, 34, 34),
        ("quote", "Admonition body.", path, 37, 37),  # the default title "Note" is not text
        ("quote", "Mind the gap\nBetween train and platform.", path, 39, 40),
        ("paragraph", "Boxed & styled text.", path, 43, 43),
    ]
    assert "{{" not in doc.text and "relref" not in doc.text


MDX = """
    import {Note} from '../components/note.jsx'
    export const meta = {
      authors: ['ada', 'grace'],

      updated: '2025-01-27'
    }

    # Deploying

    Deploy with the `<Deploy />` component or the CLI. {/* not shown */}

    <Note type="warning">
      Back up the **database** first.
    </Note>

    <Steps>
    Run the migration.
    </Steps>

    ```js path="deploy.js" twoslash
    import {deploy} from './deploy.js'
    await deploy({/* options */})
    ```
    """


def test_mdx_esm_jsx_and_comments_are_blanked_line_for_line(tmp_path: Path) -> None:
    doc = _load(tmp_path, "guide.mdx", MDX)
    path = ("Deploying",)
    assert doc.kind == "mdx"
    assert block_rows(doc) == [
        ("heading", "Deploying", path, 8, 8),
        # JSX inside inline code stays: it is what the page shows
        ("paragraph", "Deploy with the <Deploy /> component or the CLI.", path, 10, 10),
        ("quote", "Back up the database first.", path, 13, 13),  # <Note> is an admonition
        ("paragraph", "Run the migration.", path, 17, 17),
        # a fence with attributes is code, and ESM or comments inside it stay
        ("code", "import {deploy} from './deploy.js'\nawait deploy({/* options */})", path, 21, 22),
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("---\ntitle: Only front matter\n---\n", "no text (only markup, front matter or headings)"),
        (
            "# Just a heading\n\n<!-- and a comment -->\n",
            "no text (only markup, front matter or headings)",
        ),
    ],
)
def test_a_page_without_text_is_skipped_with_a_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    (tmp_path / "a.md").write_text(text, encoding="utf-8")
    assert load_file(tmp_path, tmp_path / "a.md", "a.md") == Skipped("a.md", reason)


def _alias_bomb(levels: int) -> str:
    """Front matter whose each line lists the anchor before it nine times: ``levels`` lines
    flatten to 9 ** (levels + 1) values."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "---\ntitle: Laughs\n" + "\n".join(lines) + "\n---\n# Laughs\n\nSome text.\n"


@pytest.mark.parametrize(
    ("front", "reason"),
    [
        # 9**6 values (0.6 s, 3 MB), then a 530-byte page of 9**9 (minutes, gigabytes)
        (_alias_bomb(5), "front matter of more than 1,000,000 characters once its YAML "
         "aliases are expanded (an alias bomb?)"),
        (_alias_bomb(8), "front matter of more than 1,000,000 characters once its YAML "
         "aliases are expanded (an alias bomb?)"),
        ("---\ntitle: x\ntags: &a [x, *a]\n---\n# T\n\nSome text.\n",
         "front matter holds itself (a YAML alias inside its anchor)"),
        # flattening the fields recursed past Python's stack (a RecursionError traceback)
        ("---\ntitle: x\ntags: " + "[" * 500 + "]" * 500 + "\n---\n# T\n\nSome text.\n",
         "front matter nested more than 50 levels deep"),
        ("+++\ntitle = 'x'\ntags = " + "[" * 500 + "]" * 500 + "\n+++\n# T\n\nSome text.\n",
         "front matter nested more than 50 levels deep"),
    ],
)  # fmt: skip
def test_hostile_front_matter_is_refused_before_it_is_flattened(
    tmp_path: Path, front: str, reason: str
) -> None:
    assert len(_alias_bomb(8).encode()) < 600
    (tmp_path / "a.md").write_text(front, encoding="utf-8")
    assert load_file(tmp_path, tmp_path / "a.md", "a.md") == Skipped("a.md", reason)


def test_front_matter_with_a_few_aliases_reads(tmp_path: Path) -> None:
    doc = _load(
        tmp_path,
        "a.md",
        """
        ---
        title: Widget
        base: &b [install, setup]
        tags: *b
        deep: [[[[[[[[[[x]]]]]]]]]]
        ---
        Some text.
        """,
    )
    assert doc.metadata == {
        "title": "Widget", "base": "install, setup", "tags": "install, setup", "deep": "x",
    }  # fmt: skip


def test_nesting_deeper_than_markdown_it_keeps_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(">" * 5000 + " deep\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("Top.\n\n" + ">" * 5000 + " deep\n", encoding="utf-8")
    assert load_file(tmp_path, tmp_path / "a.md", "a.md") == Skipped(
        "a.md", "no text (only markup, front matter or headings)"
    )
    doc = load_file(tmp_path, tmp_path / "b.md", "b.md")
    assert isinstance(doc, Document) and doc.text == "Top."


@pytest.mark.parametrize(
    "text",
    [
        "".join("  " * i + "- item\n" for i in range(200)),
        "word " * 200_000 + "\n",  # a 1 MB line
        "[" * 50_000 + " <b>\n",  # quadratic for markdown-it's inline parser: kept as typed
        "{{< " * 20_000 + "x\n",
    ],
)
def test_pathological_pages_load(tmp_path: Path, text: str) -> None:
    (tmp_path / "a.md").write_text(text, encoding="utf-8")
    doc = load_file(tmp_path, tmp_path / "a.md", "a.md")
    assert isinstance(doc, Document)
    assert doc.blocks and all(a[1] == 1 for a in doc.anchors[:1])


# --- the fast inline path and the parser's shortcuts agree with markdown-it -----------------

_PIECES = st.sampled_from(
    ["word", "two words", " ", "  ", "\n", "\n  ", "*", "**", "***", "_", "__", "`", "``",
     "[", "]", "(", ")", "](u)", '](u "t")', "](<a b>)", "!", ".", ",", "é", "*a*", "_b_",
     "`c`", "[d](e)", "x_y_z", "2 * 3", "snake_case", "**bold**", "  \n"]  # fmt: skip
)


def _parsed(raw: str) -> list[tuple[str, int]]:
    parser = _parser(False, raw)
    children: list = []
    parser.inline.parse(raw, parser, {}, children)
    return [s for s in inline_segments(children, raw, 0) if s[0]]


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=14).map("".join))
def test_fast_inline_text_is_markdown_its(raw: str) -> None:
    raw = raw.strip()
    fast = display_segments(raw, 0)
    if fast is not None:
        assert fast == _parsed(raw)


def test_fast_inline_covers_documentation_prose() -> None:
    raw = (
        "Run `poetry add` with **--group dev**, see [the docs](https://x.org/a_b) *first*."
        "\nThen\tgo"
    )
    assert display_segments(raw, 4) == _parsed_at(raw, 4) == [
        ("Run poetry add with --group dev, see the docs first. ", 4),
        ("Then\tgo", 5),
    ]
    for needs_parser in ("a &amp; b", "a <b>c</b>", "a \\* b", "![i](u)", "~~x~~", "[r][ref]"):
        assert display_segments(needs_parser, 0) is None


def _parsed_at(raw: str, line: int) -> list[tuple[str, int]]:
    return [(text, n + line) for text, n in _parsed(raw)]


_LINES = st.sampled_from(
    ["Text line", "# Heading", "Setext", "===", "---", "- item", "  - nested", "1. one",
     "> quote", "```", "~~~", "    code", "| a | b |", "|---|---|", "<div>", "</div>",
     "[ref]: /url", "!!! note", "    body", "Term", ": definition", "***", "", "", ""]  # fmt: skip
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, max_size=16).map("\n".join))
def test_block_rule_shortcuts_make_markdown_its_tokens(text: str) -> None:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.admon import admon_plugin
    from mdit_py_plugins.deflist import deflist_plugin

    stock = MarkdownIt("commonmark", {"html": True, "maxNesting": 40})
    stock.enable(["table", "strikethrough"]).use(admon_plugin).use(deflist_plugin)
    stock.disable("inline")

    def shape(parser: MarkdownIt) -> list[tuple[object, ...]]:
        tokens = parser.parse(text, {})
        return [(t.type, t.map, t.content, t.info, t.markup, t.hidden) for t in tokens]

    assert shape(_parser(False, text)) == shape(stock)


# --- citations over a whole index, and what a saved index imports -------------------------------


def test_every_chunk_of_every_format_cites_its_own_lines(tmp_path: Path) -> None:
    for name, text in [("page.md", PAGE), ("hugo.md", HUGO), ("guide.mdx", MDX)]:
        (tmp_path / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    (tmp_path / "manual.adoc").write_text(
        "= Manual\n:url: https://example.org\n\nSee {url}[the site].\n\n== Use\n\n"
        "* one\n* two\n\n----\ncode line\n----\n",
        encoding="utf-8",
    )
    index = build_index(tmp_path, ChunkingConfig(chunk_size=120, chunk_overlap=30))
    assert {c.source for c in index.chunks} == {"page.md", "hugo.md", "guide.mdx", "manual.adoc"}
    cache: dict = {}
    bad = [c for c in index.chunks if not verify_citation(tmp_path, Passage.from_chunk(c), cache)]
    assert bad == []


def test_a_saved_index_answers_without_importing_markdown_it(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Setup\n\nInstall the `turbine` first.\n", encoding="utf-8")
    env = {**os.environ, "DOCQA_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    ask = [sys.executable, "-m", "bot", "ask", "install turbine", "--docs", str(docs)]
    subprocess.run(ask, env=env, cwd=tmp_path, check=True, capture_output=True)  # saves it
    probe = (
        "import runpy, sys\n"
        f"sys.argv = {ask[2:]!r}\n"
        "try:\n    runpy.run_module('bot', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('markdown_it' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, check=True, capture_output=True,
        text=True,
    )  # fmt: skip
    assert "Install the turbine first." in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "False"


def _calls(work: Callable[[], object]) -> int:
    """The Python function calls (and generator steps) ``work`` makes: a measure of work
    that, unlike a clock, is the same at every run."""
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        count += event == "call"

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return count


def test_a_page_of_admonitions_reads_in_linear_work(tmp_path: Path) -> None:
    # every paragraph looked through every admonition's lines: 1 MB of them took minutes
    def page(n: int) -> str:
        outer = "{{% warning %}}\nOuter.\n\n{{% note %}}\nInner.\n{{% /note %}}\n\nAfter.\n{{% /warning %}}"
        return "\n\n".join(f"{outer}\n\nParagraph {i}." for i in range(n))

    doc = _load(tmp_path, "a.md", page(2))
    assert [(kind, text) for kind, text, *_ in block_rows(doc)] == [
        ("quote", "Outer."), ("quote", "Inner."), ("quote", "After."), ("paragraph", "Paragraph 0."),
        ("quote", "Outer."), ("quote", "Inner."), ("quote", "After."), ("paragraph", "Paragraph 1."),
    ]  # fmt: skip
    small = _calls(lambda: _load(tmp_path, "a.md", page(100)))
    large = _calls(lambda: _load(tmp_path, "a.md", page(400)))
    assert large < 5 * small, f"4 times the admonitions cost {large / small:.1f} times the work"


def test_the_time_bound_stops_markdown_its_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every line of a quote nested 40 deep is read 40 times: 1 MB of it took markdown-it
    # 20 s in one call, and the bound was only checked around that call
    from markdown_it import MarkdownIt

    from index import loaders

    returned: list[bool] = []
    parse = MarkdownIt.parse
    def spy(self: MarkdownIt, *args: object, **kwargs: object) -> object:
        tokens = parse(self, *args, **kwargs)
        returned.append(True)
        return tokens

    monkeypatch.setattr(MarkdownIt, "parse", spy)
    ticks = itertools.chain([0.0, 0.0], itertools.repeat(31.0))  # late from the parse on
    monkeypatch.setattr(loaders, "_clock", lambda: next(ticks))
    (tmp_path / "deep.md").write_text(">" * 60 + " deep\n" + "> a\n" * 20_000, encoding="utf-8")
    assert load_file(tmp_path, tmp_path / "deep.md", "deep.md") == Skipped(
        "deep.md", "took more than 30 s to read (the per-file time bound)"
    )
    assert returned == []  # stopped inside the parse
