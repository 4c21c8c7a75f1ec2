"""Real PDFs for the upload check's tests, built here byte by byte or with pypdf.

``pdf_with_object_stream`` writes what the old byte scanner missed: an action inside a
compressed object stream (PDF 1.5), referenced through a cross-reference stream, with
optional PNG predictors on the stream and padding or ``(obj)`` strings in its dictionary.
"""

from __future__ import annotations

import io
import struct
import zlib

from pypdf import PdfWriter


def blank_pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _png_up(data: bytes, columns: int) -> bytes:
    """PNG "Up" predictor rows (filter type 2), as /Predictor 12 expects."""
    data += b"\0" * (-len(data) % columns)
    previous = bytes(columns)
    rows = []
    for start in range(0, len(data), columns):
        row = data[start : start + columns]
        rows.append(b"\x02" + bytes((a - b) % 256 for a, b in zip(row, previous, strict=True)))
        previous = row
    return b"".join(rows)


def pdf_with_object_stream(
    action: bytes,
    *,
    predictor: bool = False,
    padding: int = 0,
    decoy: bytes = b"",
) -> bytes:
    """A one-page PDF whose /OpenAction (object 4) lives in object stream 5."""
    parts: list[bytes] = [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"]
    offsets: dict[int, int] = {}

    def add(number: int, body: bytes) -> None:
        offsets[number] = sum(map(len, parts))
        parts.append(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    add(1, b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>")
    add(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    add(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>")
    header = b"4 0 "
    content = header + action
    columns = 8
    data = _png_up(content, columns) if predictor else content
    params = b" /DecodeParms << /Predictor 12 /Columns %d >>" % columns if predictor else b""
    compressed = zlib.compress(data)
    stream_dict = b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode%s /Length %d%s%s >>" % (
        len(header),
        params,
        len(compressed),
        decoy,
        b" " * padding,
    )
    add(5, stream_dict + b"\nstream\n" + compressed + b"\nendstream")
    xref_at = sum(map(len, parts))
    entries = [b"\x00" + struct.pack(">IH", 0, 65535)]  # object 0: free
    for number in range(1, 7):
        if number == 4:
            entries.append(b"\x02" + struct.pack(">IH", 5, 0))  # in stream 5, index 0
        elif number == 6:
            entries.append(b"\x01" + struct.pack(">IH", xref_at, 0))
        else:
            entries.append(b"\x01" + struct.pack(">IH", offsets[number], 0))
    table = b"".join(entries)
    parts.append(
        b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
        % len(table)
        + table
        + b"\nendstream\nendobj\n"
    )
    parts.append(b"startxref\n%d\n%%%%EOF\n" % xref_at)
    return b"".join(parts)


PDF_BYTES = blank_pdf()  # a real, parseable PDF: the upload check parses every one
