"""The exceptions the engine raises; adapters turn them into words.

    DocqaError
    ├── NoDocumentsError      the documents folder holds nothing we can read
    ├── QuestionError         the question is empty, has no searchable words, or is too long
    └── IndexStoreError       a saved index is missing, corrupt or from another version

Each message says what to do next, so an adapter can show it as it is.
"""

from __future__ import annotations


class DocqaError(Exception):
    """Base class of every error docqa raises on purpose."""


class NoDocumentsError(DocqaError):
    """No usable document was found."""


class QuestionError(DocqaError):
    """The question cannot be searched as it is."""


class IndexStoreError(DocqaError):
    """A saved index cannot be used (missing, corrupt, other format)."""
