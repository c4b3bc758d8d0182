"""Load the documents of a folder: .txt, .md, .html/.htm and .pdf, one module per format.

A file that cannot be read is skipped with a reason and never stops the others; the
caller decides how to show the reasons (library code does not print).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from index.errors import NoDocumentsError
from index.loaders.common import Skipped, decode, line_anchors
from index.loaders.html import load_html
from index.loaders.markdown import load_markdown
from index.loaders.pdf import PAGE_BREAK, load_pdf, pdf_document
from index.loaders.text import is_soft_break, load_text, text_document
from index.models import Document

__all__ = [
    "MAX_FILE_BYTES",
    "PAGE_BREAK",
    "SUPPORTED",
    "LoadResult",
    "Skipped",
    "decode",
    "is_soft_break",
    "iter_files",
    "line_anchors",
    "load_documents",
    "load_file",
    "pdf_document",
    "text_document",
]

log = logging.getLogger("docqa.loading")

TEXT_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED = ", ".join(sorted({*TEXT_SUFFIXES, *HTML_SUFFIXES, *PDF_SUFFIXES}))
MAX_FILE_BYTES = 50 * 1024 * 1024

T = TypeVar("T")


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def iter_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Every file under ``root`` as ``(path, source)``, sorted by source.

    Hidden files and folders (``.git``, ``.docqa``) are passed over; links are followed
    only while they stay inside ``root``, so the yielded source may be a link's name.
    """
    root_real = root.resolve()
    found: list[tuple[str, Path]] = []
    seen_dirs: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = Path(dirpath).resolve()
        if real in seen_dirs or not real.is_relative_to(root_real):
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            found.append((path.relative_to(root).as_posix(), path))
    for source, path in sorted(found):
        yield path, source


def _same(items: Iterable[T]) -> Iterable[T]:
    return items


def load_documents(
    root: Path, track: Callable[[list[tuple[Path, str]]], Iterable[tuple[Path, str]]] = _same
) -> LoadResult:
    """Load every supported document under ``root``; ``track`` may wrap the list of files
    in a progress display.

    Raises NoDocumentsError when the folder is missing or gives no usable document.
    """
    if not root.is_dir():
        raise NoDocumentsError(
            f"documents folder {root} does not exist: create it and add {SUPPORTED} files, "
            "or point DOCQA_DOCS_DIR (or --docs) at another folder"
        )
    result = LoadResult()
    for path, source in track(list(iter_files(root))):
        loaded = load_file(root, path, source)
        if isinstance(loaded, Skipped):
            log.warning("skipped %s: %s", loaded.source, loaded.reason)
            result.skipped.append(loaded)
        else:
            result.documents.append(loaded)
    if not result.documents:
        raise NoDocumentsError(
            f"no documents found in {root}: add {SUPPORTED} files, "
            "or point DOCQA_DOCS_DIR (or --docs) at another folder"
        )
    return result


def load_file(root: Path, path: Path, source: str) -> Document | Skipped:
    """One file as a Document, or the reason it was skipped."""
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES and suffix not in HTML_SUFFIXES | PDF_SUFFIXES:
        return Skipped(source, f"unsupported type (docqa reads {SUPPORTED})")
    try:
        if not path.resolve().is_relative_to(root.resolve()):
            return Skipped(source, "link leads outside the documents folder")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return Skipped(source, f"larger than {MAX_FILE_BYTES // 2**20} MB")
        data = path.read_bytes()
    except OSError as exc:
        return Skipped(source, f"cannot be read ({exc.strerror or exc})")
    if suffix in PDF_SUFFIXES:
        return load_pdf(source, data)
    text = decode(data)
    if text is None:
        return Skipped(source, "binary or undecodable (not UTF-8 or Windows-1252 text)")
    if not text.strip():
        return Skipped(source, "empty")
    if suffix in HTML_SUFFIXES:
        doc = load_html(source, text)
        if not doc.blocks:
            return Skipped(source, "no visible text")
        return doc
    if TEXT_SUFFIXES[suffix] == "markdown":
        return load_markdown(source, text)
    return load_text(source, text, markdown=False)


