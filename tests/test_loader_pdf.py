"""The PDF loader (index/loaders/pdf.py) on small PDFs written in the tests, on malformed
and hostile PDFs, and (when ../shared is there) on the devdocs PDFs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from pdf_files import Pdf, Run, body, build, content, line

from index.chunking import ChunkingConfig, chunk_document
from index.citations import verify_citation
from index.loaders import PAGE_BREAK, Skipped, load_documents, load_file, pdf
from index.models import Document, Passage

# shared/ sits beside the checkout (or beside the folder of a git worktree)
DEVDOCS_PDF = next(
    (
        found
        for up in Path(__file__).resolve().parents[1:4]
        if (found := up / "shared" / "datasets" / "devdocs" / "pdf").is_dir()
    ),
    Path("shared/datasets/devdocs/pdf"),
)

Shown = tuple[str, str, tuple[str, ...], int | None, int, int]


def shown(doc: Document) -> list[Shown]:
    """Every block as (kind, display text, heading path, page, first line, last line)."""
    out = []
    for b in doc.blocks:
        first, page = doc.locate(b.start)
        last, _ = doc.locate(b.end - 1)
        out.append((b.kind, doc.text[b.start : b.end], b.heading_path, page, first, last))
    return out


def load(tmp_path: Path, data: bytes, name: str = "doc.pdf") -> Document | Skipped:
    (tmp_path / name).write_bytes(data)
    return load_file(tmp_path, tmp_path / name, name)


def test_pdf_text_by_page(docs_dir: Path) -> None:
    doc = load_file(docs_dir, docs_dir / "manual.pdf", "manual.pdf")
    assert isinstance(doc, Document)
    # same font, no outline, lines 14 points apart: one paragraph per page
    assert shown(doc) == [
        ("paragraph", "Warranty terms\nThe warranty lasts two years from purchase.", (), 1, 1, 2),
        ("paragraph", "Returns\nReturns are accepted within 30 days.", (), 2, 1, 2),
    ]
    assert doc.text == (
        "Warranty terms\nThe warranty lasts two years from purchase."
        + PAGE_BREAK
        + "Returns\nReturns are accepted within 30 days."
    )


def manual_pages() -> list[list]:
    """Three pages of a manual: a running header and footer, page numbers, an outline,
    a ligature, words hyphenated at line ends, a superscript note mark and bullets."""
    header = line(72, 760, "Acme T-400 Turbine Manual", size=9)
    return [
        [
            header,
            line(72, 700, "1. Installation", size=16, font="B"),
            line(72, 676, "The turbine stands on a level ", Run("\x1f", font="L"), "rm base. Its mag-"),
            *body(
                [
                    "nitude is measured in kilowatts. Anchor bolts are pre-",
                    "allocated in the kit. The BM25-",
                    "style index is not a turbine part.",
                ],
                top=664,
            ),
            line(72, 616, "Torque the bolts to 40 Nm", Run("12", 7, rise=4), " before the first start."),
            line(72, 580, "• Check the oil level.", size=10),
            line(72, 568, "• Tighten the anchor bolts and", size=10),
            line(82, 556, "the flange nuts.", size=10),
            line(300, 40, "1", size=9),
        ],
        [
            header,
            line(72, 700, "2. Operation", size=16, font="B"),
            *body(["Start the turbine with the green switch. The pre-", "allocated buffer holds 64 readings."], top=676),
            line(300, 40, "2", size=9),
        ],
        [
            header,
            line(72, 700, "3. Maintenance", size=16, font="B"),
            *body(["Replace the filter every 2,000 hours of operation."], top=676),
            line(300, 40, "3", size=9),
        ],
    ]


def manual() -> bytes:
    return build(
        Pdf(
            pages=manual_pages(),
            outline=[("1. Installation", 0), ("2. Operation", 1), ("3. Maintenance", 2)],
        )
    )


def test_a_manual_reads_cleanly(tmp_path: Path) -> None:
    doc = load(tmp_path, manual())
    assert isinstance(doc, Document)
    install, operation, maintenance = ("1. Installation",), ("2. Operation",), ("3. Maintenance",)
    assert shown(doc) == [
        ("heading", "1. Installation", install, 1, 2, 2),
        (
            "paragraph",
            "The turbine stands on a level firm base. Its magnitude\n"
            "is measured in kilowatts. Anchor bolts are pre-allocated\n"
            "in the kit. The BM25-style\n"
            "index is not a turbine part.",
            install, 1, 3, 6,
        ),
        ("paragraph", "Torque the bolts to 40 Nm before the first start.", install, 1, 7, 7),
        ("list_item", "Check the oil level.", install, 1, 8, 8),
        ("list_item", "Tighten the anchor bolts and\nthe flange nuts.", install, 1, 9, 10),
        ("heading", "2. Operation", operation, 2, 2, 2),
        (
            "paragraph",
            "Start the turbine with the green switch. The pre-allocated\nbuffer holds 64 readings.",
            operation, 2, 3, 4,
        ),
        ("heading", "3. Maintenance", maintenance, 3, 2, 2),
        ("paragraph", "Replace the filter every 2,000 hours of operation.", maintenance, 3, 3, 3),
    ]  # fmt: skip
    # the running header and the page numbers leave empty lines: a page keeps its lines
    assert doc.text.split(PAGE_BREAK)[1:] == [
        "\n2. Operation\n"
        "Start the turbine with the green switch. The pre-allocated\nbuffer holds 64 readings.\n",
        "\n3. Maintenance\nReplace the filter every 2,000 hours of operation.\n",
    ]


def paper() -> bytes:
    """A paper without an outline: a title over two lines, section headings larger than
    the body, a bold run-in heading, superscript citations set apart as LaTeX does, and
    a dotted-leader table of contents."""
    return build(
        Pdf(
            pages=[
                [
                    line(72, 720, "Contents", size=14, font="B"),
                    line(72, 700, "1 Introduction . . . . . . . . . . . . . . . . 2"),
                    line(72, 688, "2 Methods . . . . . . . . . . . . . . . . . . . 2"),
                    line(72, 676, "2.1 Data . . . . . . . . . . . . . . . . . . . 2"),
                ],
                [
                    line(72, 740, "Fast Turbines for", size=20, font="B"),
                    line(72, 716, "Small Farms", size=20, font="B"),
                    line(72, 680, "1 Introduction", size=14, font="B"),
                    *body(["Turbines are built on top of towers of steel and concrete, as all"], top=660),
                    line(72, 648, "earlier work shows"),
                    line(163, 652, "1, 2", size=7),
                    line(180, 648, ", and they last for decades."),
                    line(72, 612, "2 Methods", size=14, font="B"),
                    *body(["We measured every turbine of the farm once a week in the year of the study."], top=592),
                    line(72, 556, "Field data", font="B"),
                    *body(["The field data come from forty turbines and their logbooks kept by the owners."], top=540),
                ],
            ]
        )
    )


def test_headings_from_fonts_and_citations_removed(tmp_path: Path) -> None:
    doc = load(tmp_path, paper())
    assert isinstance(doc, Document)
    title = "Fast Turbines for Small Farms"
    assert shown(doc) == [
        ("heading", "Fast Turbines for\nSmall Farms", (title,), 2, 1, 2),
        ("heading", "1 Introduction", (title, "1 Introduction"), 2, 3, 3),
        (
            "paragraph",
            "Turbines are built on top of towers of steel and concrete, as all\n"
            "earlier work shows, and they last for decades.",
            (title, "1 Introduction"), 2, 4, 5,
        ),
        ("heading", "2 Methods", (title, "2 Methods"), 2, 6, 6),
        (
            "paragraph",
            "We measured every turbine of the farm once a week in the year of the study.",
            (title, "2 Methods"), 2, 7, 7,
        ),
        ("heading", "Field data", (title, "2 Methods", "Field data"), 2, 8, 8),
        (
            "paragraph",
            "The field data come from forty turbines and their logbooks kept by the owners.",
            (title, "2 Methods", "Field data"), 2, 9, 9,
        ),
    ]  # fmt: skip
    # the contents page is four empty lines
    assert doc.text.split(PAGE_BREAK)[0] == "\n\n\n"


def test_running_footer_with_page_numbers_is_dropped(tmp_path: Path) -> None:
    said = ["The rotor turns.", "Oil the gears.", "Check the blades.", "Log the hours.", "Stop in storms."]
    pages = [
        [line(72, 700, text), line(72, 40, f"Acme T-400 manual, revision 2 \u2013 {n}/5", size=8)]
        for n, text in enumerate(said, start=1)
    ]
    doc = load(tmp_path, build(Pdf(pages=pages)))
    assert isinstance(doc, Document)
    assert doc.text.split(PAGE_BREAK) == [f"{text}\n" for text in said]


def test_page_texts_without_fonts_are_cleaned_too() -> None:
    doc = pdf.pdf_document(
        "notes.pdf",
        ["The \ufb01rst e\ufb00ect of the hand-\nshake is a key.\n7", "The handshake ends here.\n8"],
    )
    assert doc is not None
    assert doc.text == "The first effect of the handshake\nis a key.\n" + PAGE_BREAK + "The handshake ends here.\n"
    assert shown(doc) == [
        ("paragraph", "The first effect of the handshake\nis a key.", (), 1, 1, 2),
        ("paragraph", "The handshake ends here.", (), 2, 1, 1),
    ]
    assert pdf.pdf_document("blank.pdf", ["", " \n"]) is None


# --- malformed and hostile PDFs (issue 11) ----------------------------------------------


def _one_page(text: str = "The rotor turns.", **extra: str) -> bytes:
    return build(Pdf(pages=[body([text])], **extra))


def test_malformed_pdfs_are_skipped_or_read_and_never_stop_the_others(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    # pypdf raised NotImplementedError, NotImplementedError and AttributeError on these
    unknown_filter = _one_page("Unknown filters are passed through.").replace(
        b"11 0 obj\n<< /Length", b"11 0 obj\n<< /Filter /Foo /Length"
    )
    (root / "a-filter.pdf").write_bytes(unknown_filter)
    (root / "b-encrypt.pdf").write_bytes(
        _one_page(extra_trailer=" /Encrypt << /V 9 /R 9 /Filter /Standard /O (x) /U (y) /P -4 >>")
    )
    (root / "c-trailer.pdf").write_bytes(
        _one_page().replace(b"trailer\n<< /Size", b"trailer\n/NotADict\n<< /Size")
    )
    (root / "d-truncated.pdf").write_bytes(_one_page()[:200])
    (root / "e-good.pdf").write_bytes(_one_page("The good file is read."))
    result = load_documents(root)
    assert [(d.source, d.text) for d in result.documents] == [
        ("a-filter.pdf", "Unknown filters are passed through."),
        ("e-good.pdf", "The good file is read."),
    ]
    assert result.skipped == [
        Skipped("b-encrypt.pdf", "encrypted PDF (it needs a password)"),
        Skipped("c-trailer.pdf", "unreadable PDF (Failed to load document (PDFium: Data format error).)"),
        Skipped("d-truncated.pdf", "unreadable PDF (Failed to load document (PDFium: Data format error).)"),
    ]


def test_a_pdf_without_text_is_skipped(tmp_path: Path) -> None:
    assert load(tmp_path, build(Pdf(pages=[[], []]))) == Skipped(
        "doc.pdf", "PDF has no extractable text (scanned pages without a text layer?)"
    )


def bomb(pages: int, megabytes: float, filters: int = 2) -> bytes:
    """Every page draws one stream that compresses ``megabytes`` of text operators to a
    few kilobytes."""
    one = content([line(72, 700, "The same words are drawn again and again.")]) + b"\n"
    return build(
        Pdf(pages=[[] for _ in range(pages)]),
        shared_content=one * int(megabytes * 2**20 / len(one)),
        filters=filters,
    )


def test_a_decompression_bomb_is_skipped_before_it_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf, "MAX_STREAM_BYTES", 2**20)
    data = bomb(pages=100, megabytes=4.4)
    assert len(data) < 25_000
    opened = []
    monkeypatch.setattr(pdf, "_read", lambda data: opened.append(data))
    assert load(tmp_path, data) == Skipped(
        "doc.pdf",
        "a compressed stream inflates to more than 1 MB (a decompression bomb?), "
        "the most docqa reads of one PDF stream",
    )
    assert opened == []  # PDFium never saw it


def test_reading_stops_at_the_time_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # every page is slow work for PDFium; a clock that moves 10 s per look stands in for it
    ticks = itertools.count(step=10)
    monkeypatch.setattr(pdf, "_clock", lambda: next(ticks))
    assert load(tmp_path, bomb(pages=50, megabytes=0.2)) == Skipped(
        "doc.pdf",
        "reading took more than 30 s (stopped after page 4 of 50), the most docqa spends on a PDF",
    )


def test_reading_stops_at_the_page_and_character_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    four = build(Pdf(pages=[body([f"Page {n} of the turbine log."]) for n in range(1, 5)]))
    monkeypatch.setattr(pdf, "MAX_PAGES", 3)
    assert load(tmp_path, four) == Skipped(
        "doc.pdf", "4 pages, more than the 3 pages docqa reads of a PDF"
    )
    monkeypatch.setattr(pdf, "MAX_PAGES", 4)
    monkeypatch.setattr(pdf, "MAX_CHARS", 60)
    assert load(tmp_path, four) == Skipped(
        "doc.pdf",
        "more than 60 characters of text by page 3 of 4, the most docqa reads of a PDF",
    )
    monkeypatch.setattr(pdf, "MAX_CHARS", 200)
    doc = load(tmp_path, four)
    assert isinstance(doc, Document) and doc.text.count(PAGE_BREAK) == 3


# --- citations ----------------------------------------------------------------------------


def _check_citations(root: Path, doc: Document) -> int:
    """Every chunk's text stands at its cited lines, and the page's lines hold it."""
    pages = doc.text.split(PAGE_BREAK)
    chunks = chunk_document(doc, ChunkingConfig())
    cache: dict = {}
    for chunk in chunks:
        passage = Passage.from_chunk(chunk)
        assert verify_citation(root, passage, cache), chunk
        assert chunk.page is not None
        lines = pages[chunk.page - 1].split("\n")[chunk.start_line - 1 : chunk.end_line]
        assert " ".join(chunk.text.split()) in " ".join(" ".join(lines).split()), chunk
    return len(chunks)


def test_every_citation_of_the_fixtures_stands_at_its_lines(tmp_path: Path) -> None:
    for name, data in [("manual.pdf", manual()), ("paper.pdf", paper())]:
        doc = load(tmp_path, data, name)
        assert isinstance(doc, Document)
        assert _check_citations(tmp_path, doc) >= 3


@pytest.fixture(scope="module")
def devdocs() -> dict[str, Document]:
    if not DEVDOCS_PDF.is_dir():
        pytest.skip(f"{DEVDOCS_PDF} is not there")
    docs = {}
    for path in sorted(DEVDOCS_PDF.glob("*.pdf")):
        doc = load_file(DEVDOCS_PDF, path, path.name)
        assert isinstance(doc, Document), doc
        docs[path.name] = doc
    return docs


def test_every_citation_of_the_devdocs_pdfs_stands_at_its_lines(devdocs: dict[str, Document]) -> None:
    assert {name: _check_citations(DEVDOCS_PDF, doc) > 50 for name, doc in devdocs.items()} == {
        "Disruptor-1.0.pdf": True,
        "noise.pdf": True,
        "scipy-1.0-paper.pdf": True,
    }


def _block_at(doc: Document, page: int, line: int) -> Shown:
    return next(b for b in shown(doc) if b[3] == page and b[4] <= line <= b[5])


def test_the_devdocs_pdfs_read_cleanly(devdocs: dict[str, Document]) -> None:
    noise, disruptor, scipy = devdocs["noise.pdf"], devdocs["Disruptor-1.0.pdf"], devdocs["scipy-1.0-paper.pdf"]
    assert len(noise.text.split(PAGE_BREAK)) == 65
    # the outline gives the headings; a bullet item; the contents pages are gone
    assert _block_at(noise, 5, 29) == (
        "list_item", "Simpler testing, since it’s easy to test the maximum sizes.",
        ("3. Message format",), 5, 29, 29,
    )  # fmt: skip
    assert noise.text.split(PAGE_BREAK)[0].strip() == (
        "The Noise Protocol Framework\n"
        "Trevor Perrin (noise@trevp.net)\n"
        "Revision 34, 2018-07-11, official/unstable"
    )
    assert "ﬁ" not in noise.text and "hand-\nshake" not in noise.text
    # the v1.0 footer is gone and the headings come from the font sizes
    assert "v1.0" not in disruptor.text
    assert _block_at(disruptor, 3, 20)[:3] == (
        "heading", "3.3 Memory Barriers",
        (
            "Disruptor: High performance alternative to bounded queues for "
            "exchanging data between concurrent threads",
            "3 The Complexities of Concurrency",
            "3.3 Memory Barriers",
        ),
    )  # fmt: skip
    # superscript citations are gone, the n/22 footer too
    assert "SciPy is built on top of NumPy, which provides array data" in scipy.text
    assert "including scikit-learn and scikit-image, are built." in scipy.text
    assert "/22" not in scipy.text
