"""Small PDFs written byte by byte for the PDF loader's tests: lines placed where a
typesetter would put them, in chosen sizes and weights, with superscripts, an outline
(bookmarks) and compressed streams when asked."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Run:
    """Text set in one font: ``font`` is R (regular), B (bold) or L (with the ``fi``
    ligature at byte 0x1f); ``rise`` lifts it above the baseline (a superscript)."""

    text: str
    size: float = 10
    font: str = "R"
    rise: float = 0


@dataclass(frozen=True)
class Line:
    """Runs set from ``(x, y)`` on, left to right."""

    x: float
    y: float
    runs: tuple[Run, ...]


def line(x: float, y: float, *runs: str | Run, size: float = 10, font: str = "R") -> Line:
    return Line(x, y, tuple(Run(r, size, font) if isinstance(r, str) else r for r in runs))


def body(lines: list[str], top: float = 700, step: float = 12, x: float = 72) -> list[Line]:
    """Lines of 10-point body text, one under the other."""
    return [line(x, top - i * step, text) for i, text in enumerate(lines)]


@dataclass
class Pdf:
    pages: list[list[Line]] = field(default_factory=list)
    outline: list[tuple[str, int]] = field(default_factory=list)  # (title, 0-based page)
    extra_trailer: str = ""


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def content(lines: list[Line]) -> bytes:
    ops = []
    for ln in lines:
        ops.append(f"BT {ln.x:g} {ln.y:g} Td".encode())
        for run in ln.runs:
            ops.append(f"/F{run.font} {run.size:g} Tf {run.rise:g} Ts (".encode() + _escape(run.text) + b") Tj")
        ops.append(b"ET")
    return b"\n".join(ops)


def build(pdf: Pdf, shared_content: bytes | None = None, filters: int = 0) -> bytes:
    """The PDF file. With ``shared_content`` every page draws that one stream, compressed
    ``filters`` times with Flate (the shape of a decompression bomb)."""
    objects: dict[int, bytes] = {}
    n = len(pdf.pages)
    page_ids = [10 + 2 * i for i in range(n)]
    fonts = (
        b"<< /FR 3 0 R /FB 4 0 R /FL 5 0 R >>"
    )
    objects[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    objects[4] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
    objects[5] = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding "
        b"<< /BaseEncoding /WinAnsiEncoding /Differences [31 /fi] >> /ToUnicode 7 0 R >>"
    )
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /L def "
        b"1 begincodespacerange <00> <FF> endcodespacerange "
        b"1 beginbfrange <20> <7E> <0020> endbfrange "
        b"1 beginbfchar <1F> <FB01> endbfchar endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    objects[7] = f"<< /Length {len(cmap)} >>\nstream\n".encode() + cmap + b"\nendstream"
    shared_id = 10 + 2 * n
    if shared_content is not None:
        data = shared_content
        for _ in range(filters):
            data = zlib.compress(data, 9)
        names = " ".join(["/FlateDecode"] * filters)
        objects[shared_id] = (
            f"<< /Length {len(data)} /Filter [{names}] >>\nstream\n".encode() + data + b"\nendstream"
        )
    for i, lines in enumerate(pdf.pages):
        contents = shared_id if shared_content is not None else page_ids[i] + 1
        objects[page_ids[i]] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {contents} 0 R "
            "/Resources << /Font ".encode() + fonts + b" >> >>"
        )
        if shared_content is None:
            stream = content(lines)
            objects[page_ids[i] + 1] = (
                f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream"
            )
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode()
    catalog = "<< /Type /Catalog /Pages 2 0 R"
    if pdf.outline:
        first = shared_id + 1
        items = [first + i for i in range(len(pdf.outline))]
        catalog += " /Outlines 6 0 R /PageMode /UseOutlines"
        objects[6] = f"<< /Type /Outlines /First {items[0]} 0 R /Last {items[-1]} 0 R /Count {len(items)} >>".encode()
        for i, (title, page) in enumerate(pdf.outline):
            links = f" /Prev {items[i - 1]} 0 R" if i else ""
            links += f" /Next {items[i + 1]} 0 R" if i + 1 < len(items) else ""
            objects[items[i]] = (
                f"<< /Title ({title}) /Parent 6 0 R /Dest [{page_ids[page]} 0 R /XYZ null null null]"
                f"{links} >>"
            ).encode()
    objects[1] = (catalog + " >>").encode()
    out = b"%PDF-1.4\n"
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for number in range(1, size):
        if number in offsets:
            out += f"{offsets[number]:010d} 00000 n \n".encode()
        else:
            out += b"0000000000 65535 f \n"
    out += (
        f"trailer\n<< /Size {size} /Root 1 0 R{pdf.extra_trailer} >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return out
