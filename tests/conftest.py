from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.chunking import ChunkingConfig
from index.models import Document
from index.retrieval import Engine, EngineConfig, build_index

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILE = "000_a337b3eb2b0d8fb8.txt"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No DOCQA_* variable or .env file of the developer's leaks into a test, and no test
    writes a saved index outside its temporary folders (the default data folder is the
    user's cache folder, here a temporary one)."""
    for name in list(os.environ):
        if name.upper().startswith("DOCQA_") or name == "NO_COLOR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="session")
def seeds_engine() -> Engine:
    # 600-character chunks (the default before 800): the exact screens and spans the
    # tests of the REPL and of source lines were written for, one chunk starting mid-line
    chunking = ChunkingConfig(chunk_size=600, chunk_overlap=150)
    return Engine(build_index(SEEDS, chunking), EngineConfig())


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF whose pages show the given lines in Helvetica."""
    objects: list[bytes] = []
    page_ids = []
    n_pages = len(pages)
    font_id = 3 + 2 * n_pages
    for i, lines in enumerate(pages):
        page_id, content_id = 3 + 2 * i, 4 + 2 * i
        page_ids.append(page_id)
        ops = "BT /F1 12 Tf 14 TL 72 720 Td " + " ".join(
            "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj T*"
            for line in lines
        ) + " ET"
        stream = ops.encode("latin-1")
        objects.append(
            f"{page_id} 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Contents {content_id} 0 R /Resources << /Font << /F1 {font_id} 0 R >> >> >> "
            "endobj\n".encode()
        )
        objects.append(
            f"{content_id} 0 obj << /Length {len(stream)} >> stream\n".encode()
            + stream
            + b"\nendstream endobj\n"
        )
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    head = [
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n",
        f"2 0 obj << /Type /Pages /Kids [{kids}] /Count {n_pages} >> endobj\n".encode(),
    ]
    tail = [
        f"{font_id} 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj\n".encode()
    ]
    body = head + objects + tail
    out = b"%PDF-1.4\n"
    offsets = []
    for obj in body:
        offsets.append(len(out))
        out += obj
    xref = len(out)
    out += f"xref\n0 {len(body) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer << /Size {len(body) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


@pytest.fixture
def docs_dir(tmp_path: Path) -> Iterator[Path]:
    """A small folder with one document of each supported kind."""
    root = tmp_path / "docs"
    root.mkdir()
    (root / "guide.md").write_text(
        "# Installation\n"
        "\n"
        "Run the installer with administrator rights. The installer needs\n"
        "2 GB of free disk space and takes about five minutes.\n"
        "\n"
        "## Upgrading\n"
        "\n"
        "Back up the database before upgrading. Version 3.2 changed the\n"
        "schema, so older backups cannot be restored.\n"
        "\n"
        "# Troubleshooting\n"
        "\n"
        "- If the service does not start, check that port 8080 is free.\n"
        "- Logs are written to /var/log/widget.log every hour.\n",
        encoding="utf-8",
    )
    (root / "faq.html").write_text(
        "<html><head><title>Widget FAQ</title><style>p { color: red }</style>\n"
        '<script>var secret = "zebra";</script></head>\n'
        "<body>\n"
        "<h1>Widget FAQ</h1>\n"
        "<p>The widget supports <b>three</b> colour modes:\n"
        "dark, light and sepia.</p>\n"
        "<h2>Pricing</h2>\n"
        "<p>A licence costs &euro;49 per seat per year.</p>\n"
        "</body></html>\n",
        encoding="utf-8",
    )
    (root / "manual.pdf").write_bytes(
        make_pdf(
            [
                ["Warranty terms", "The warranty lasts two years from purchase."],
                ["Returns", "Returns are accepted within 30 days."],
            ]
        )
    )
    sub = root / "notes"
    sub.mkdir()
    (sub / "cafe.txt").write_bytes("Le caf\xe9 ouvre \xe0 huit heures.\n".encode("cp1252"))
    yield root


def failing_citations(root: Path, sources: list[str] | None = None) -> list[str]:
    """The chunks of the documents under ``root`` whose text does not stand at the lines
    they cite (``verify_citation``), as ``source:first-last``; [] when every one holds."""
    from index.chunking import chunk_document
    from index.citations import verify_citation
    from index.loaders import iter_files, load_file
    from index.models import Document, Passage

    failures: list[str] = []
    cache: dict = {}
    for path, source in iter_files(root):
        if sources is not None and source not in sources:
            continue
        doc = load_file(root, path, source)
        assert isinstance(doc, Document), doc
        cache[source] = doc  # loading is deterministic: verify against this same load
        for chunk in chunk_document(doc, ChunkingConfig()):
            if not verify_citation(root, Passage.from_chunk(chunk), cache):
                failures.append(f"{source}:{chunk.start_line}-{chunk.end_line}")
    return failures


def shared_dataset(name: str) -> Path | None:
    """A data set under ``shared/datasets`` beside the checkout (or beside its worktree
    folder), or None where there is none."""
    for base in (ROOT.parent, ROOT.parent.parent):
        folder = base / "shared" / "datasets" / name
        if folder.is_dir():
            return folder
    return None


BlockRow = tuple[str, str, tuple[str, ...], int, int]


def block_rows(doc: Document) -> list[BlockRow]:
    """Each block of a loaded document as (kind, display text, heading path, first line,
    last line): what the loader tests assert, whole."""
    return [
        (
            b.kind,
            doc.text[b.start : b.end],
            b.heading_path,
            doc.locate(b.start)[0],
            doc.locate(b.end - 1)[0],
        )
        for b in doc.blocks
    ]
