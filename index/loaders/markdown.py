"""Markdown: read as text, with ``#`` headings as the heading path."""

from __future__ import annotations

from index.loaders.text import load_text
from index.models import Document


def load_markdown(source: str, text: str) -> Document:
    return load_text(source, text, markdown=True)
