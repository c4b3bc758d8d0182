"""The small typed records that flow from one stage to the next."""

from __future__ import annotations

from bisect import bisect_right

from pydantic import BaseModel, ConfigDict, Field

_FROZEN = ConfigDict(frozen=True)


class Block(BaseModel):
    """A paragraph (or heading) of a document: a span of its ``text``.

    A block never spans a hard break (blank line, list item, heading, HTML block element),
    so sentences are split inside blocks and never across them.
    """

    model_config = _FROZEN

    start: int
    end: int
    heading_path: tuple[str, ...] = ()
    is_heading: bool = False


class Document(BaseModel):
    """A loaded file: its path relative to the documents folder, text and blocks.

    ``text`` is the file's text for .txt and .md, the visible text for HTML and the page
    texts for PDF. ``anchors`` maps offsets of ``text`` back to the file: each
    ``(offset, line, page)`` says that from ``offset`` on, the text comes from that
    1-based line (of that 1-based page, for a PDF).
    """

    model_config = _FROZEN

    source: str
    kind: str
    text: str
    blocks: tuple[Block, ...]
    anchors: tuple[tuple[int, int, int | None], ...]

    def locate(self, offset: int) -> tuple[int, int | None]:
        """The ``(line, page)`` that the character at ``offset`` comes from."""
        i = bisect_right(self.anchors, offset, key=lambda a: a[0]) - 1
        _, line, page = self.anchors[max(i, 0)]
        return line, page


class Chunk(BaseModel):
    """A passage of one document, the unit the index scores.

    ``start``/``end`` are character offsets into the document's text, so
    ``document.text[start:end]`` is the chunk's text as it stands in the document.
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

    @classmethod
    def from_chunk(
        cls, chunk: Chunk, score: float = 0.0, matched_terms: tuple[str, ...] = ()
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
        )

    @property
    def citation(self) -> str:
        """``SOURCE:FIRST-LAST`` (with the page for a PDF)."""
        page = f" p.{self.page}" if self.page is not None else ""
        return f"{self.source}:{self.start_line}-{self.end_line}{page}"


class AnswerSentence(BaseModel):
    """One verbatim sentence of the answer and the passage (1-based) it comes from."""

    model_config = _FROZEN

    text: str
    passage: int


class Answer(BaseModel):
    """What the bot says to a question."""

    model_config = _FROZEN

    question: str
    text: str
    abstained: bool
    sentences: tuple[AnswerSentence, ...] = ()
    passages: tuple[Passage, ...] = ()
    coverage: float = Field(
        0.0, description="share of the question's informative weight the best passage holds"
    )


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
