from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SEED_FILE, SEEDS
from pydantic import ValidationError

from index.chunking import ChunkingConfig, chunk_document, chunk_documents, split_sentences
from index.loaders import load_documents, load_file
from index.models import Block, Chunk, Document


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_sentence_split_keeps_abbreviations_initials_and_decimals() -> None:
    assert _sentences(
        "He met Dr. Smith at 9 a.m. today. It cost $97.4 billion, e.g. a lot. Really? Yes!"
    ) == ["He met Dr. Smith at 9 a.m. today.", "It cost $97.4 billion, e.g. a lot.", "Really?", "Yes!"]
    assert _sentences("J. R. R. Tolkien wrote it.  Then he slept.") == [
        "J. R. R. Tolkien wrote it.",
        "Then he slept.",
    ]
    assert _sentences("no end punctuation") == ["no end punctuation"]
    assert _sentences("   ") == []


def test_seed_chunks_line_ranges_and_spans() -> None:
    docs = load_documents(SEEDS).documents
    chunks = chunk_documents(docs, ChunkingConfig(chunk_size=600, chunk_overlap=150))
    assert [(c.id, c.source, c.start_line, c.end_line, c.start, c.end) for c in chunks] == [
        (0, SEED_FILE, 1, 6, 0, 597),
        (1, SEED_FILE, 6, 8, 530, 923),
        (2, SEED_FILE, 8, 10, 794, 1375),
        (3, SEED_FILE, 9, 11, 1240, 1768),
        (4, SEED_FILE, 11, 14, 1678, 2211),
    ]
    text = (SEEDS / SEED_FILE).read_text(encoding="utf-8")
    lines = text.split("\n")
    for chunk in chunks:
        # the chunk is verbatim file text, and lies within its cited lines
        assert text[chunk.start : chunk.end] == chunk.text
        cited = lines[chunk.start_line - 1 : chunk.end_line]
        assert chunk.text in "\n".join(cited)
        # the first and last cited lines are the ones the chunk starts and ends on
        assert chunk.text.split("\n")[0] in cited[0]
        assert chunk.text.split("\n")[-1] in cited[-1]


def _check_invariants(chunks: list[Chunk], config: ChunkingConfig) -> None:
    for chunk in chunks:
        assert len(chunk.text) <= config.chunk_size, chunk


def test_chunks_are_whole_sentences_within_the_size_with_overlap(tmp_path: Path) -> None:
    text = " ".join(f"Sentence number {i} talks about turbine blade {i}." for i in range(40))
    doc = _text_document(tmp_path, text)
    config = ChunkingConfig(chunk_size=200, chunk_overlap=60)
    chunks = chunk_document(doc, config)
    _check_invariants(chunks, config)
    sentences = set(_sentences(text))
    for chunk in chunks:
        assert set(_sentences(chunk.text)) <= sentences  # never a cut sentence
    for before, after in zip(chunks, chunks[1:]):
        shared = before.text[after.start - before.start :]
        assert after.text.startswith(shared) and 0 < len(shared) <= 60  # whole-sentence overlap
    assert chunks[0].text.startswith("Sentence number 0 ")
    assert chunks[-1].text.endswith("turbine blade 39.")


def test_a_sentence_longer_than_the_size_is_cut_at_spaces(tmp_path: Path) -> None:
    long = "word " * 100 + "end."
    doc = _text_document(tmp_path, long)
    config = ChunkingConfig(chunk_size=120, chunk_overlap=0)
    chunks = chunk_document(doc, config)
    _check_invariants(chunks, config)
    assert " ".join(c.text for c in chunks) == long.strip()


def test_headings_start_chunks_and_give_their_path(docs_dir: Path) -> None:
    docs = load_documents(docs_dir).documents
    chunks = chunk_documents(docs, ChunkingConfig())
    assert [(c.source, c.start_line, c.end_line, c.page, c.heading) for c in chunks] == [
        ("faq.html", 4, 6, None, "Widget FAQ"),
        ("faq.html", 7, 8, None, "Widget FAQ > Pricing"),
        ("guide.md", 1, 4, None, "Installation"),
        ("guide.md", 6, 9, None, "Installation > Upgrading"),
        ("guide.md", 11, 14, None, "Troubleshooting"),
        ("manual.pdf", 1, 2, 1, None),
        ("manual.pdf", 1, 2, 2, None),
        ("notes/cafe.txt", 1, 1, None, None),
    ]
    assert chunks[3].text == (
        "Upgrading\n\nBack up the database before upgrading. Version 3.2 changed the "
        "schema, so older backups cannot be restored."
    )
    assert chunks[6].text == "Returns\nReturns are accepted within 30 days."


def test_config_rejects_overlap_not_below_size() -> None:
    with pytest.raises(ValidationError, match="chunk_overlap"):
        ChunkingConfig(chunk_size=100, chunk_overlap=100)


def _text_document(root: Path, text: str) -> Document:
    (root / "t.txt").write_text(text + "\n", encoding="utf-8")
    doc = load_file(root, root / "t.txt", "t.txt")
    assert isinstance(doc, Document)
    return doc


def _typed(text: str, blocks: list[tuple[str, str]]) -> Document:
    """A document whose display text is ``text`` and whose blocks are the given
    ``(kind, exact text)`` pairs, found in order."""
    spans = []
    cursor = 0
    for kind, piece in blocks:
        start = text.index(piece, cursor)
        spans.append(Block(start=start, end=start + len(piece), kind=kind))
        cursor = start + len(piece)
    return Document(source="t.md", kind="markdown", text=text, blocks=tuple(spans),
                    anchors=((0, 1, None),))  # fmt: skip


def test_a_lead_in_stays_with_the_block_it_introduces() -> None:
    text = (
        "Poetry keeps the environment in the cache folder by default. "
        "You can change that with a setting, like so:\n\n"
        "poetry config virtualenvs.in-project true"
    )
    doc = _typed(text, [
        ("paragraph", text.split("\n\n")[0]),
        ("code", "poetry config virtualenvs.in-project true"),
    ])  # fmt: skip
    chunks = chunk_document(doc, ChunkingConfig(chunk_size=120, chunk_overlap=0))
    assert [c.text for c in chunks] == [
        "Poetry keeps the environment in the cache folder by default.",
        "You can change that with a setting, like so:\n\npoetry config virtualenvs.in-project true",
    ]
    assert chunks[1].blocks == ((0, 44, "paragraph"), (46, 87, "code"))


@pytest.mark.parametrize(
    ("signature", "glued"),
    [
        ("socket.protect(func)", True),
        ("List:sort ([cmp='<'])", True),
        ("http.request{ url = string, [sink = LTN12 sink] }", True),
        ("Use socket.protect(func) for that.", False),  # a sentence that names a call
    ],
)
def test_an_api_signature_stays_with_its_description(signature: str, glued: bool) -> None:
    first = "The function returns your customized try function, ready for use."
    description = "Converts a function that throws exceptions into a safe function."
    text = f"{first}\n\n{signature}\n\n{description}"
    doc = _typed(text, [
        ("paragraph", first), ("paragraph", signature), ("paragraph", description),
    ])  # fmt: skip
    size = len(first) + 2 + len(signature) + 1
    chunks = chunk_document(doc, ChunkingConfig(chunk_size=size, chunk_overlap=0))
    if glued:  # the signature opens the chunk of its description, not ends the one before
        assert [c.text for c in chunks] == [first, f"{signature}\n\n{description}"]
    else:
        assert [c.text for c in chunks] == [f"{first}\n\n{signature}", description]


def test_list_items_and_code_are_never_cut_unless_too_long() -> None:
    code = "\n".join(f"line {i} = value_{i}" for i in range(12))
    text = "- first item, fairly long, with its (Default 100)\n\n- second item\n\n" + code
    doc = _typed(text, [
        ("list_item", "first item, fairly long, with its (Default 100)"),
        ("list_item", "second item"),
        ("code", code),
    ])  # fmt: skip
    # the code block alone is longer than the chunk: it is cut between lines only
    chunks = chunk_document(doc, ChunkingConfig(chunk_size=100, chunk_overlap=0))
    assert [c.text for c in chunks] == [
        "first item, fairly long, with its (Default 100)\n\n- second item",
        "\n".join(f"line {i} = value_{i}" for i in range(5)),
        "\n".join(f"line {i} = value_{i}" for i in range(5, 10)),
        "\n".join(f"line {i} = value_{i}" for i in range(10, 12)),
    ]
    assert [kind for _, _, kind in chunks[0].blocks] == ["list_item", "list_item"]


class _Counted(str):
    """A text that counts the characters read out of it (by index or slice): the work a
    splitter does on it, without a clock."""

    read = 0

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        got = str.__getitem__(self, key)
        _Counted.read += len(got)
        return got


def _characters_read(text: str) -> int:
    _Counted.read = 0
    split_sentences(_Counted(text))
    return _Counted.read


@pytest.mark.parametrize("unit", ["Mr. ", "A. B. Author1, ", "e.g. ", "It is so. "])
def test_sentence_splitting_is_linear_in_the_text(unit: str) -> None:
    # abbreviations and initials made the splitter search the sentence so far again at
    # every period (a slice of it each time): 80 KB of "Mr. " took 39 s. Four times the
    # text must be read about four times over, not sixteen
    small = unit * 500
    assert _characters_read(small * 4) <= 4 * _characters_read(small) + len(unit)
    spans = split_sentences(small)
    assert "".join(small[a:b] for a, b in spans).replace(" ", "") == small.replace(" ", "")
