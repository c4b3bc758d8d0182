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

import errno
import logging
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, TypeVar

from index.errors import NoDocumentsError
from index.loaders.common import (
    PAGE_BREAK,
    Skipped,
    Unreadable,
    check_work,
    decode,
    line_anchors,
    work_bound,
)
from index.loaders.text import is_soft_break, text_document
from index.models import Document

__all__ = [
    "LOADERS_VERSION",
    "MAX_FILE_BYTES",
    "MAX_FILE_CHARS",
    "MAX_FILE_SECONDS",
    "PAGE_BREAK",
    "SUPPORTED",
    "FileProblem",
    "LoadResult",
    "Skipped",
    "Unreadable",
    "decode",
    "is_soft_break",
    "iter_files",
    "check_work",
    "line_anchors",
    "load_documents",
    "load_file",
    "open_regular",
    "printable_source",
    "source_lines",
    "source_path",
    "pdf_document",
    "text_document",
]

log = logging.getLogger("docqa.loading")

Loader = Callable[[str, bytes], Document]


class _Lazy(MutableMapping[str, Any]):
    """suffix → a function of a format module, imported the first time it is looked up:
    answering from a saved index (or reading only .txt files) never pays for the other
    formats' modules and their parsers (YAML, docutils, ctypes for PDF). A function set
    for a suffix (a plug-in, a test's stand-in) is kept as it is, as in a dict."""

    def __init__(self, names: dict[str, tuple[str, str]]) -> None:
        self._names: dict[str, tuple[str, str] | Any] = dict(names)
        self._set: set[str] = set()  # the suffixes whose value is the function itself

    def __getitem__(self, suffix: str) -> Any:
        value = self._names[suffix]
        if suffix in self._set:
            return value
        module, attr = value
        return getattr(import_module(f"index.loaders.{module}"), attr)

    def __setitem__(self, suffix: str, function: Any) -> None:
        self._names[suffix] = function
        self._set.add(suffix)

    def __delitem__(self, suffix: str) -> None:
        del self._names[suffix]
        self._set.discard(suffix)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


# suffix (lower case) → loader (the module's ``load``)
LOADERS: MutableMapping[str, Loader] = _Lazy(
    {
        ".txt": ("text", "load"),
        ".md": ("markdown", "load"),
        ".markdown": ("markdown", "load"),
        ".mdx": ("mdx", "load"),
        ".adoc": ("asciidoc", "load"),
        ".asciidoc": ("asciidoc", "load"),
        ".html": ("html", "load"),
        ".htm": ("html", "load"),
        ".xhtml": ("html", "load"),
        ".pdf": ("pdf", "load"),
        ".rst": ("rst", "load"),
        ".rest": ("rst", "load"),
        ".docx": ("docx", "load"),
    }
)
# suffix → the lines a citation of such a file counts, when they are not its text lines
CITED_LINES: Mapping[str, Callable[[bytes], list[str]]] = _Lazy(
    {".docx": ("docx", "paragraph_lines")}
)


def __getattr__(name: str) -> Any:
    # pdf_document lives with the PDF loader, imported only when it is used
    if name == "pdf_document":
        from index.loaders.pdf import pdf_document

        return pdf_document
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
SUPPORTED = ", ".join(sorted(LOADERS))
# Part of the saved index's fingerprint: raise it whenever a loader would make other
# documents of the same files, so saved indexes are rebuilt rather than kept stale.
LOADERS_VERSION = "loaders-5"

# The bounds on one file; past any of them the file is skipped with the bound as reason.
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_FILE_CHARS = 20_000_000  # characters of extracted text (a PDF or DOCX can unpack far)
MAX_FILE_SECONDS = 30.0  # checked between a loader's steps (pages, blocks)
_clock = time.monotonic  # the time bound's clock (a test replaces it)

T = TypeVar("T")


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


# --- which files, under which names -----------------------------------------------------

# A character a source name shows as \xHH: control characters (a name could otherwise
# forge a line of output) and bytes that are not UTF-8 (os.fsdecode's lone surrogates,
# which cannot be written to the index's JSON).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_ESCAPED = re.compile(r"\\x([0-9a-f]{2})|\\u([0-9a-f]{4})")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def printable_source(name: str) -> str:
    r"""A file's name as docqa shows and stores it: the name itself when it is printable
    UTF-8, else with each byte that is not UTF-8 and each control character written
    ``\xHH`` (C1 controls ``\u0085``): the bytes ``b"bad\xff.txt"`` give ``bad\xff.txt``."""
    return _UNPRINTABLE.sub(_escape, name)


def source_path(root: Path, source: str) -> Path:
    """The path of the file a source name stands for (undoing ``printable_source``)."""
    path = root / source
    if "\\" not in source or os.path.lexists(path):
        return path
    raw = bytearray()  # the name's bytes: escapes undone, the rest as UTF-8
    pos = 0
    for match in _ESCAPED.finditer(source):
        raw += source[pos : match.start()].encode("utf-8", "surrogateescape")
        if match.group(1):
            raw.append(int(match.group(1), 16))
        else:
            raw += chr(int(match.group(2), 16)).encode("utf-8", "surrogatepass")
        pos = match.end()
    raw += source[pos:].encode("utf-8", "surrogateescape")
    return root / os.fsdecode(bytes(raw))


def iter_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Every file under ``root`` as ``(path, source)``, sorted by source.

    Hidden files and folders (``.git``, ``.docqa``) are passed over; links are followed
    only while they stay inside ``root``, so the yielded source may be a link's name.
    Broken links, link loops, pipes and the like are yielded too: ``load_file`` says
    why it skips them. ``source`` is printable (see ``printable_source``).
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
            found.append((printable_source(path.relative_to(root).as_posix()), path))
    for source, path in sorted(found):
        yield path, source


# --- reading one file -------------------------------------------------------------------


class FileProblem(Exception):
    """A file docqa does not read as it stands (a broken link, a pipe, too large): the
    message is the reason shown."""


def open_regular(root: Path, path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file inside ``root`` of at most
    ``max_bytes``, else FileProblem with the reason. Never blocks: a named pipe is opened
    without waiting for a writer and refused."""
    try:
        real = os.path.realpath(path, strict=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FileProblem("symbolic link loop") from None
        if exc.errno == errno.ENOENT:
            if os.path.islink(path):
                raise FileProblem("broken link (its target does not exist)") from None
            raise FileProblem("no longer exists") from None
        raise FileProblem(f"cannot be read ({exc.strerror or exc})") from None
    except RuntimeError:  # pathlib's way of saying ELOOP on some versions
        raise FileProblem("symbolic link loop") from None
    if not Path(real).is_relative_to(root.resolve()):
        raise FileProblem("link leads outside the documents folder")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        raise FileProblem(f"cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise FileProblem("not a regular file (a named pipe, socket or device)")
        if st.st_size > max_bytes:
            raise FileProblem(f"larger than {max_bytes // 2**20} MB")
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise FileProblem(f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:  # it grew since fstat
        raise FileProblem(f"larger than {max_bytes // 2**20} MB")
    return data


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
    stops the others. Every loader runs under the same work bound (``MAX_FILE_CHARS``
    characters of text, ``MAX_FILE_SECONDS`` seconds checked between its steps)."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        return Skipped(source, f"unsupported type (docqa reads {SUPPORTED})")
    try:
        data = open_regular(root, path)
    except FileProblem as exc:
        return Skipped(source, str(exc))
    try:
        with work_bound(MAX_FILE_CHARS, MAX_FILE_SECONDS, _clock):
            doc = loader(source, data)
            check_work(len(doc.text))
        return doc
    except Unreadable as exc:
        return Skipped(source, str(exc))
    except Exception as exc:  # a parser's bug or limit on one file is that file's reason
        log.debug("loading %s failed", source, exc_info=True)
        return Skipped(source, f"could not be read ({type(exc).__name__}: {exc})")


def source_lines(root: Path, source: str) -> list[str]:
    """The lines of a document as its citations count them (the file's text lines; a
    DOCX's paragraphs and table rows); empty when the file cannot be read. Not for PDF,
    whose lines are counted within each page of the extracted text."""
    path = source_path(root, source)
    try:
        data = open_regular(root, path)
    except FileProblem:
        return []
    lines_of = CITED_LINES.get(path.suffix.lower())
    if lines_of is not None:
        try:
            return lines_of(data)
        except Exception:  # the same file as the index read: unreadable now means changed
            return []
    return (decode(data) or "").split("\n")
