"""Check a citation against the file: does the passage's text stand at the cited lines?

The file is loaded again, as the index would load it now, so a citation goes stale when
the file changes under it. For .txt and .md the cited lines are the file's own lines; for
HTML and PDF they are the extracted text that comes from those lines (the document's
anchors map text offsets back to lines, and pages for a PDF).
"""

from __future__ import annotations

from pathlib import Path

from index.loaders import Skipped, load_file, source_path
from index.models import Document, Passage

DocumentCache = dict[str, "Document | Skipped"]


def _squash(text: str) -> str:
    # chunk text keeps the file's line breaks and indentation; compare words, not layout
    return " ".join(text.split())


def cited_text(doc: Document, start_line: int, end_line: int, page: int | None = None) -> str:
    """The document's text that comes from lines ``start_line..end_line`` (of ``page``
    for a PDF); empty when the document has no such lines."""
    start: int | None = None
    end = len(doc.text)
    for offset, line, anchor_page in doc.anchors:
        if anchor_page != page:
            if start is not None:
                end = offset
                break
            continue
        if start is None:
            if start_line <= line <= end_line:
                start = offset
            continue
        if line > end_line:
            end = offset
            break
    if start is None:
        return ""
    return doc.text[start:end]


def verify_citation(root: Path, passage: Passage, cache: DocumentCache | None = None) -> bool:
    """Whether ``passage.text`` stands, whitespace aside, at the lines it cites in
    ``root / passage.source``. ``cache`` (source → loaded document) saves loading a file
    once per passage when many passages cite it."""
    text = _squash(passage.text)
    if not text or passage.start_line > passage.end_line:
        return False
    if cache is not None and passage.source in cache:
        doc = cache[passage.source]
    else:
        doc = load_file(root, source_path(root, passage.source), passage.source)
        if cache is not None:
            cache[passage.source] = doc
    if isinstance(doc, Skipped):
        return False
    region = cited_text(doc, passage.start_line, passage.end_line, passage.page)
    return text in _squash(region)
