"""Citation links to the published documents: page paths as MkDocs and Sphinx lay them
out, heading anchors as they make them (checked against Python-Markdown's ``toc.slugify``
and docutils' ``nodes.make_id``), and front matter's ``slug``/``url``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.discord.links import (
    DocLinks,
    FrontMatter,
    citation_url,
    mkdocs_anchor,
    page_path,
    sphinx_anchor,
)
from index.models import Document, Passage

# (heading, Python-Markdown 3 toc.slugify(h, "-"), docutils 0.2x nodes.make_id(h)),
# computed with those libraries
ANCHORS = [
    ("Installation", "installation", "installation"),
    ("Getting Started: the 5-minute guide", "getting-started-the-5-minute-guide", "getting-started-the-5-minute-guide"),
    ("What's new in 3.2?", "whats-new-in-32", "what-s-new-in-3-2"),
    ("Café & Crème brûlée", "cafe-creme-brulee", "cafe-creme-brulee"),
    ("Straße, Æsir, Œuvre", "strae-sir-uvre", "strasze-aesir-oeuvre"),
    ("  Spaces   and -- dashes  ", "spaces-and-dashes", "spaces-and-dashes"),
    ("2. Configure the server_name", "2-configure-the-server_name", "configure-the-server-name"),
    ("C++ / C# & F#", "c-c-f", "c-c-f"),
    ("日本語 heading", "heading", "heading"),
]


@pytest.mark.parametrize(("heading", "mkdocs", "sphinx"), ANCHORS)
def test_anchors_as_the_generators_make_them(heading: str, mkdocs: str, sphinx: str) -> None:
    assert (mkdocs_anchor(heading), sphinx_anchor(heading)) == (mkdocs, sphinx)


@pytest.mark.parametrize(
    ("source", "metadata", "path"),
    [
        ("guide/install.md", {}, "guide/install/"),
        ("index.md", {}, ""),
        ("guide/README.md", {}, "guide/"),
        ("guide/index.md", {}, "guide/"),
        ("api/client.rst", {}, "api/client.html"),
        ("faq.html", {}, "faq.html"),
        ("manual.pdf", {}, "manual.pdf"),
        ("guide/install.md", {"slug": "setup"}, "guide/setup/"),  # Hugo: the name
        ("guide/install.md", {"slug": "/start/here"}, "start/here"),  # Docusaurus: the path
        ("guide/install.md", {"url": "/docs/installing/"}, "docs/installing/"),
        ("guide/install.md", {"permalink": "/installing.html"}, "installing.html"),  # Jekyll
        ("guide/install.md", {"url": "https://other.example.com/x"}, "https://other.example.com/x"),
    ],
)
def test_page_paths(source: str, metadata: dict[str, str], path: str) -> None:
    assert page_path(source, metadata) == path


def _passage(source: str, heading: str | None = None, page: int | None = None) -> Passage:
    return Passage(
        chunk_id=0, source=source, start_line=3, end_line=4, page=page, heading=heading, text="t", score=1.0
    )


def test_citation_urls() -> None:
    base = "https://docs.example.com/v2/"
    assert citation_url(base, _passage("guide/install.md", "Installation > Disk space")) == (
        "https://docs.example.com/v2/guide/install/#disk-space"  # the deepest heading
    )
    assert citation_url(base, _passage("api/client.rst", "Client > What's new?")) == (
        "https://docs.example.com/v2/api/client.html#what-s-new"
    )
    assert citation_url(base, _passage("faq.html", "Pricing")) == "https://docs.example.com/v2/faq.html"
    assert citation_url(base, _passage("manual.pdf", page=7)) == "https://docs.example.com/v2/manual.pdf#page=7"
    assert citation_url(base, _passage("notes/read me (old).md")) == (
        "https://docs.example.com/v2/notes/read%20me%20%28old%29/"
    )
    assert citation_url(base, _passage("a.md", "Intro"), {"url": "https://x.example.com/p"}) == (
        "https://x.example.com/p#intro"
    )


def test_front_matter_is_read_once_per_version_of_a_file(tmp_path: Path) -> None:
    calls: list[str] = []
    slug = {"value": "first"}

    def load(root: Path, path: Path, source: str) -> Document:
        calls.append(source)
        return Document(
            source=source, kind="markdown", text="x", blocks=(), anchors=((0, 1, None),),
            metadata={"slug": slug["value"]},
        )

    page = tmp_path / "guide.md"
    page.write_text("x\n", encoding="utf-8")
    links = DocLinks("https://d.example.com", FrontMatter(tmp_path, load))
    assert links(_passage("guide.md")) == "https://d.example.com/first/"
    assert links(_passage("guide.md")) == "https://d.example.com/first/"
    assert calls == ["guide.md"]  # cached
    slug["value"] = "second"
    page.write_text("x, edited\n", encoding="utf-8")  # another size: another version
    assert links(_passage("guide.md")) == "https://d.example.com/second/"
    assert links(_passage("gone.md")) == "https://d.example.com/gone/"  # no file: its path
    assert calls == ["guide.md", "guide.md"]


def test_front_matter_goes_through_the_loader_checks(tmp_path: Path) -> None:
    docs, outside = tmp_path / "docs", tmp_path / "outside.md"
    docs.mkdir()
    outside.write_text("---\nslug: secret\n---\n# Secret\n", encoding="utf-8")
    (docs / "link.md").symlink_to(outside)
    # a link out of the folder is skipped by the loader: no metadata, the plain path
    assert FrontMatter(docs)("link.md") == {}
    assert DocLinks("https://d.example.com", FrontMatter(docs))(_passage("link.md")) == "https://d.example.com/link/"
