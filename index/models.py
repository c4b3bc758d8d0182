"""The small typed records that flow from one stage to the next."""

from __future__ import annotations

from bisect import bisect_right
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

_FROZEN = ConfigDict(frozen=True, extra="forbid")

BlockKind = Literal["heading", "paragraph", "list_item", "code", "table_row", "quote"]
BLOCK_KINDS: tuple[BlockKind, ...] = get_args(BlockKind)


class Block(BaseModel):
    """One typed block of a document: a span ``[start, end)`` of its display ``text``.

    - ``heading``: a section title; it sets the heading path of the blocks after it.
    - ``paragraph``: running prose (sentences are split inside it, never across blocks).
    - ``list_item``: one item of a bulleted or numbered list, its bullet left out.
    - ``code``: a code block, with its line breaks and indentation.
    - ``table_row``: one row of a table, read as ``Header: value, Header: value``.
    - ``quote``: a block quote or an admonition (note, warning, tip).
    """

    model_config = _FROZEN

    start: int
    end: int
    kind: BlockKind = "paragraph"
    heading_path: tuple[str, ...] = ()

    @property
    def is_heading(self) -> bool:
        return self.kind == "heading"


class Document(BaseModel):
    """A loaded file: its path relative to the documents folder, display text and blocks.

    ``text`` is the **display text**: what a person reads, markup removed (no ``**``,
    backticks, link targets, entities or bullets; code keeps its line breaks). For plain
    text it is the file's own text. Loaders that build it put a blank line between blocks.
    ``blocks`` are typed spans of ``text`` in reading order. ``anchors`` maps offsets of
    ``text`` back to the file: each ``(offset, line, page)`` says that from ``offset`` on,
    the text comes from that 1-based line (of that 1-based page, for a PDF), so a citation
    names the file's own lines. ``metadata`` keeps what is not prose (front matter: title,
    description, slug, ...), never indexed as a passage.
    """

    model_config = _FROZEN

    source: str
    kind: str
    text: str
    blocks: tuple[Block, ...]
    anchors: tuple[tuple[int, int, int | None], ...]
    metadata: dict[str, str] = Field(default_factory=dict)

    def locate(self, offset: int) -> tuple[int, int | None]:
        """The ``(line, page)`` that the character at ``offset`` comes from."""
        i = bisect_right(self.anchors, offset, key=lambda a: a[0]) - 1
        _, line, page = self.anchors[max(i, 0)]
        return line, page


BlockSpan = tuple[int, int, BlockKind]


class Chunk(BaseModel):
    """A passage of one document, the unit the index scores.

    ``start``/``end`` are character offsets into the document's text, so
    ``document.text[start:end]`` is the chunk's text as it stands in the document.
    ``blocks`` are the chunk's blocks as ``(start, end, kind)`` offsets into ``text``
    (the first and last may be parts of a block the chunk shares with its neighbours).
    """

    model_config = _FROZEN

    id: int
    source: str
    text: str
    start_line: int
    end_line: int
    start: int
    end: int
    page: int | None = None
    heading_path: tuple[str, ...] = ()
    blocks: tuple[BlockSpan, ...] = ()

    @property
    def heading(self) -> str | None:
        return " > ".join(self.heading_path) or None


class Passage(BaseModel):
    """A chunk as retrieved for a question: what a citation points at."""

    model_config = _FROZEN

    chunk_id: int
    source: str
    start_line: int
    end_line: int
    page: int | None = None
    heading: str | None = None
    text: str
    score: float
    matched_terms: tuple[str, ...] = Field(
        default=(), description="question terms (stemmed) found in the passage"
    )
    blocks: tuple[BlockSpan, ...] = Field(
        default=(), description="the passage's blocks as (start, end, kind) in ``text``"
    )
    stale: bool = Field(
        default=False,
        description="the file's size or modification time differs from the indexed one, so "
        "the cited lines may no longer hold the text",
    )
    similarity: float | None = Field(
        default=None,
        description="cosine similarity of the passage to the question (semantic layer on)",
    )

    @classmethod
    def from_chunk(
        cls,
        chunk: Chunk,
        score: float = 0.0,
        matched_terms: tuple[str, ...] = (),
        similarity: float | None = None,
    ) -> Passage:
        return cls(
            chunk_id=chunk.id,
            source=chunk.source,
            start_line=chunk.start_line,
            end_line=chunk.end_line,
            page=chunk.page,
            heading=chunk.heading,
            text=chunk.text,
            score=score,
            matched_terms=matched_terms,
            blocks=chunk.blocks,
            similarity=similarity,
        )

    @property
    def citation(self) -> str:
        """``SOURCE:FIRST-LAST`` (with the page for a PDF)."""
        page = f" p.{self.page}" if self.page is not None else ""
        return f"{self.source}:{self.start_line}-{self.end_line}{page}"


class AnswerSentence(BaseModel):
    """One verbatim unit of the answer (a sentence, list item, table row, or code) and the
    passage (1-based) it comes from. ``kind`` is ``code`` for code, which keeps its line
    breaks and is best shown as a code block, else ``text``."""

    model_config = _FROZEN

    text: str
    passage: int
    kind: Literal["text", "code"] = "text"


class Answer(BaseModel):
    """What the bot says to a question."""

    model_config = _FROZEN

    question: str
    text: str
    abstained: bool
    sentences: tuple[AnswerSentence, ...] = ()
    passages: tuple[Passage, ...] = ()
    coverage: float = Field(
        0.0,
        description="confidence of the answer: the share of the question's informative "
        "weight that the answer (and its context) holds, lowered when the kind of answer "
        "asked for is missing; the engine abstains below its threshold",
    )
    followup: bool = Field(False, description="the question was read as a follow-up")


class TermContribution(BaseModel):
    """How much one query term added to a passage's score (``:explain``)."""

    model_config = _FROZEN

    term: str
    weight: float
    idf: float
    tf: int
    score: float


class SourceInfo(BaseModel):
    """One indexed document and how many chunks it gave (``:sources``)."""

    model_config = _FROZEN

    source: str
    chunks: int
