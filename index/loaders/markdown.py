"""Markdown: read as text, with ``#`` headings as the heading path."""

from __future__ import annotations

from index.loaders.common import decode_text
from index.loaders.text import load_text
from index.models import Document


def load(source: str, data: bytes) -> Document:
    return load_text(source, decode_text(data), markdown=True)
