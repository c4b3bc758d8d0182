"""Load the documents of a folder, one module per format.

Every format module has ``load(source, data) -> Document``: it makes the document's
display text and typed blocks (see ``index.models.Block``) from the file's bytes, or raises
``Unreadable`` with the reason to show. ``LOADERS`` maps a suffix to its loader; adding a
format is a module and a line there. Here, and only here, live the rules for which files
are read at all.

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
from index.loaders import html, markdown, pdf, text
from index.loaders.common import Skipped, Unreadable, decode, line_anchors
from index.loaders.pdf import PAGE_BREAK, pdf_document
from index.loaders.text import is_soft_break, text_document
from index.models import Document

__all__ = [
    "MAX_FILE_BYTES",
    "PAGE_BREAK",
    "SUPPORTED",
    "LoadResult",
    "Skipped",
    "Unreadable",
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

Loader = Callable[[str, bytes], Document]

# suffix (lower case) → loader
LOADERS: dict[str, Loader] = {
    ".txt": text.load,
    ".md": markdown.load,
    ".markdown": markdown.load,
    ".html": html.load,
    ".htm": html.load,
    ".pdf": pdf.load,
}
SUPPORTED = ", ".join(sorted(LOADERS))
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
    """One file as a Document, or the reason it was skipped. Whatever a loader (or the
    parser under it) raises on one file becomes that file's reason: one bad file never
    stops the others."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
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
    try:
        return loader(source, data)
    except Unreadable as exc:
        return Skipped(source, str(exc))
    except Exception as exc:  # a parser's bug or limit on one file is that file's reason
        log.debug("loading %s failed", source, exc_info=True)
        return Skipped(source, f"could not be read ({type(exc).__name__}: {exc})")
