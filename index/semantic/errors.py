"""The semantic layer's one error (kept apart so that naming it imports no model runtime)."""

from __future__ import annotations

from index.errors import DocqaError


class SemanticError(DocqaError):
    """The semantic model cannot be found, downloaded, installed or run."""
