"""Links from a citation to the published documentation: page URL plus heading anchor.

``DOCQA_DOCS_URL`` is where the documents folder is published. A file's page is found the
way the common generators lay out their sites:

- Markdown (MkDocs, ``use_directory_urls``): ``guide/install.md`` → ``BASE/guide/install/``,
  ``index.md`` and ``README.md`` → their folder; anchors are slugified as Python-Markdown's
  ``toc`` extension does (MkDocs' default);
- reStructuredText (Sphinx, HTML builder): ``guide/install.rst`` → ``BASE/guide/install.html``;
  anchors are made as docutils' ``make_id`` does;
- HTML: the same path (its anchors are element ids we cannot guess, so none);
- PDF: the file, with ``#page=N``; anything else: the file.

Front matter wins over the path: ``url`` or ``permalink`` is the page's path (or a whole
URL), ``slug`` replaces the file's name (or, starting with ``/``, the whole path), as
Hugo, Jekyll and Docusaurus read them. Front matter is what the loader put in
``Document.metadata``; it is not saved with the index, so :class:`FrontMatter` reads it
from the file when a link is built, once per version of the file.

Pure functions apart from :class:`FrontMatter`; nothing here imports discord.py.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from index.loaders import load_file
from index.models import Document, Passage

Metadata = Mapping[str, str]

MARKDOWN = {".md", ".markdown"}
RST = {".rst", ".rest"}
HTML = {".html", ".htm"}
INDEX_PAGES = {"index", "readme"}


def mkdocs_anchor(heading: str) -> str:
    """The id Python-Markdown's ``toc`` extension gives a heading (``slugify``, "-")."""
    value = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


# docutils.nodes: letters that NFKD does not take apart, and the digraphs
_DOCUTILS_DIGRAPHS = str.maketrans({"ß": "sz", "æ": "ae", "œ": "oe", "ȸ": "db", "ȹ": "qp"})
_DOCUTILS_LETTERS = str.maketrans(
    {
        "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ł": "l", "ŧ": "t", "ƀ": "b", "ƃ": "b",
        "ƈ": "c", "ƌ": "d", "ƒ": "f", "ƙ": "k", "ƚ": "l", "ƞ": "n", "ƥ": "p", "ƫ": "t",
        "ƭ": "t", "ƴ": "y", "ƶ": "z", "ǥ": "g", "ȥ": "z", "ȴ": "l", "ȵ": "n", "ȶ": "t",
        "ȷ": "j", "ȼ": "c", "ȿ": "s", "ɀ": "z", "ɇ": "e", "ɉ": "j", "ɋ": "q", "ɍ": "r",
        "ɏ": "y",
    }
)


def sphinx_anchor(heading: str) -> str:
    """The id docutils (and so Sphinx) gives a section title (``nodes.make_id``)."""
    value = heading.lower().translate(_DOCUTILS_DIGRAPHS).translate(_DOCUTILS_LETTERS)
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^a-z0-9]+", "-", " ".join(value.split()))
    return re.sub(r"^[-0-9]+|-+$", "", value)


def page_path(source: str, metadata: Metadata | None = None) -> str:
    """The page's path below the site's base URL (no leading ``/``), or a whole URL when
    the front matter gives one."""
    meta = metadata or {}
    for key in ("url", "permalink"):
        given = str(meta.get(key) or "").strip()
        if given:
            return given if re.match(r"[a-z][a-z0-9+.-]*://", given, re.I) else given.lstrip("/")
    path = PurePosixPath(source)
    suffix = path.suffix.lower()
    slug = str(meta.get("slug") or "").strip()
    if slug.startswith("/"):
        return slug.lstrip("/")
    folder = "" if str(path.parent) == "." else f"{path.parent}/"
    if suffix in MARKDOWN:
        if slug:
            return f"{folder}{slug.strip('/')}/"
        return folder if path.stem.lower() in INDEX_PAGES else f"{folder}{path.stem}/"
    if suffix in RST:
        return f"{folder}{slug or path.stem}.html"
    if slug:
        return f"{folder}{slug}"
    return source


def anchor(source: str, heading: str | None) -> str:
    """The heading anchor of a passage on its page ("" when none can be known): the
    deepest heading of its path."""
    if not heading:
        return ""
    deepest = heading.split(" > ")[-1]
    suffix = PurePosixPath(source).suffix.lower()
    if suffix in MARKDOWN:
        return mkdocs_anchor(deepest)
    if suffix in RST:
        return sphinx_anchor(deepest)
    return ""


def citation_url(base: str, passage: Passage, metadata: Metadata | None = None) -> str:
    """The published page of ``passage``, with its heading's anchor (or PDF page)."""
    path = page_path(passage.source, metadata)
    if re.match(r"[a-z][a-z0-9+.-]*://", path, re.I):
        url = path
    else:
        url = base.rstrip("/") + "/" + quote(path, safe="/-._~")
    if PurePosixPath(passage.source).suffix.lower() == ".pdf" and passage.page is not None:
        return f"{url}#page={passage.page}"
    fragment = anchor(passage.source, passage.heading)
    return f"{url}#{fragment}" if fragment else url


class FrontMatter:
    """Each document's front matter, read with the loader (so with its checks: inside the
    folder, a regular file, bounded size) and kept per version of the file (size and
    modification time), since the saved index does not keep it."""

    def __init__(
        self, root: Path, load: Callable[[Path, Path, str], object] = load_file
    ) -> None:
        self.root = root
        self._load = load
        self._cache: dict[str, tuple[tuple[int, int], Metadata]] = {}
        self._lock = threading.Lock()

    def __call__(self, source: str) -> Metadata:
        path = self.root / source
        if PurePosixPath(source).suffix.lower() not in MARKDOWN | RST:
            return {}  # only these carry front matter
        try:
            stat = path.stat()
        except OSError:
            return {}
        version = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._cache.get(source)
        if cached is not None and cached[0] == version:
            return cached[1]
        loaded = self._load(self.root, path, source)
        metadata: Metadata = dict(loaded.metadata) if isinstance(loaded, Document) else {}
        with self._lock:
            self._cache[source] = (version, metadata)
            if len(self._cache) > 10_000:
                self._cache.pop(next(iter(self._cache)))
        return metadata


class DocLinks:
    """Citation → URL for one documents folder published at ``base``."""

    def __init__(self, base: str, front_matter: Callable[[str], Metadata]) -> None:
        self.base = base
        self.front_matter = front_matter

    def __call__(self, passage: Passage) -> str:
        return citation_url(self.base, passage, self.front_matter(passage.source))
