"""Printing fetches nothing but the document's own resources (support/printing.py)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from support.printing import PrintResourceRefused, pdf_from_html

ROOT = Path(__file__).resolve().parents[2]
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010804000000b51c0c02"
    "0000000b4944415478da63fcff1f0003030200efa37c9a0000000049454e44ae426082"
)


@pytest.fixture
def internal_service() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback standing in for something internal; it logs each hit."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()


class TestPrinting:
    def test_a_document_renders(self) -> None:
        assert pdf_from_html("<p>A letter</p>").startswith(b"%PDF-")

    def test_a_local_file_is_never_read(self) -> None:
        with pytest.raises(PrintResourceRefused):
            pdf_from_html("<p>x</p><img src='file:///etc/passwd'>")

    def test_an_internal_address_is_never_fetched(
        self, internal_service: tuple[str, list[str]]
    ) -> None:
        url, hits = internal_service
        with pytest.raises(PrintResourceRefused):
            pdf_from_html(f"<link rel='stylesheet' href='{url}/admin.css'><p>x</p>")
        assert hits == []

    def test_a_data_url_is_refused_too(self) -> None:
        with pytest.raises(PrintResourceRefused):
            pdf_from_html("<img src='data:image/png;base64,iVBORw0KGgo='>")

    def test_the_documents_own_resources_load(self) -> None:
        pdf = pdf_from_html("<img src='own:logo'>", {"own:logo": (PNG, "image/png")})
        assert b"/Image" in pdf

    def test_nothing_else_renders_html_with_weasyprint(self) -> None:
        offenders = [
            str(path.relative_to(ROOT))
            for folder in ("accounts", "audit", "consent", "messaging", "records", "retention")
            for path in (ROOT / folder).rglob("*.py")
            if "weasyprint import HTML" in path.read_text()
        ]
        assert offenders == []


class TestPrintBase:
    @pytest.mark.parametrize("size", ["letter", "A4"])
    def test_every_printed_document_takes_the_configured_page_size(self, size: str) -> None:
        import io

        from django.template.loader import render_to_string
        from pypdf import PdfReader

        expected = {"letter": (612, 792), "A4": (595, 842)}[size]
        for template in (
            "messaging/letter.html",
            "records/extension_notice.html",
            "records/denial_letter.html",
        ):
            patient = SimpleNamespace(full_name="A Patient", patient_profile=None)
            context = {
                "page_size": size,
                "organisation": "Clinic",
                "request": SimpleNamespace(patient=patient, received_at=date(2026, 1, 5)),
            }
            html = render_to_string(template, context)
            box = PdfReader(io.BytesIO(pdf_from_html(html))).pages[0].mediabox
            assert (round(box.width), round(box.height)) == expected, template

    def test_the_printed_templates_all_extend_the_print_base(self) -> None:
        printed = [
            "messaging/letter.html",
            "consent/accounting_pdf.html",
            "records/extension_notice.html",
            "records/denial_letter.html",
            "records/package_cover.html",
        ]
        for name in printed:
            text = (ROOT / "templates" / name).read_text()
            assert text.startswith('{% extends "print/base.html" %}'), name
