"""The docqa engine: documents → chunks → BM25 index → cited passages → answer.

Nothing here imports ``bot``; adapters build on these names.
"""

from index.answer import ABSTAIN_TEXT, compose_answer
from index.chunking import (
    ChunkingConfig,
    chunk_document,
    chunk_documents,
    split_sentences,
)
from index.errors import DocqaError, IndexStoreError, NoDocumentsError, QuestionError
from index.loaders import LoadResult, Skipped, load_documents, load_file
from index.models import (
    Answer,
    AnswerSentence,
    Block,
    Chunk,
    Document,
    Passage,
    SourceInfo,
    TermContribution,
)
from index.retrieval import Conversation, Engine, EngineConfig, Index, build_index
from index.scoring import BM25Scorer
from index.tokenize import tokenize

__all__ = [
    "ABSTAIN_TEXT",
    "Answer",
    "AnswerSentence",
    "BM25Scorer",
    "Block",
    "Chunk",
    "ChunkingConfig",
    "Conversation",
    "DocqaError",
    "Document",
    "Engine",
    "EngineConfig",
    "Index",
    "IndexStoreError",
    "LoadResult",
    "NoDocumentsError",
    "Passage",
    "QuestionError",
    "Skipped",
    "SourceInfo",
    "TermContribution",
    "build_index",
    "chunk_document",
    "chunk_documents",
    "compose_answer",
    "load_documents",
    "load_file",
    "split_sentences",
    "tokenize",
]
