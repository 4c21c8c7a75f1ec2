"""The evidence pack: a signed report that vouches for every file, the same figures as the
dashboard, the period's checkpoints, and the traceability matrix when there is one."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from pypdf import PdfReader

from audit import chain
from audit.models import AuditAnchor, AuditCheckpoint
from audit.sealing import events_seal
from audit.signing import public_key_load
from evidence.pack import TRACEABILITY
from records.signing import signature_status
from tests.messaging.factories import message_sent
from tests.records.factories import Identity

pytestmark = pytest.mark.django_db

SECTIONS = (
    "authentication",
    "encryption",
    "audit",
    "access",
    "disclosures",
    "deliveries",
    "retention",
    "workforce",
    "activity_review",
    "business_associates",
)


def _report_text(archive: Any) -> str:
    reader = PdfReader(io.BytesIO(archive.read("report.pdf")))
    return "\n".join(page.extract_text() for page in reader.pages)


class TestSignature:
    def test_the_report_is_signed_and_valid_to_pyhanko(
        self, pack_download: Callable[..., Any], organisation: Identity
    ) -> None:
        _, _, archive = pack_download()
        status = signature_status(archive.read("report.pdf"), trust=[organisation.cert_bytes])
        assert status.intact and status.valid
        assert status.signer == "Riverside Community Health"

    def test_pdfsig_says_the_signature_is_valid(
        self, pack_download: Callable[..., Any], pdfsig: Callable[[bytes], list[str]]
    ) -> None:
        _, _, archive = pack_download()
        report = pdfsig(archive.read("report.pdf"))
        assert "- Signature Validation: Signature is Valid." in report
        assert "- Total document signed" in report

    def test_a_changed_report_no_longer_validates(
        self, pack_download: Callable[..., Any], organisation: Identity
    ) -> None:
        _, _, archive = pack_download()
        pdf = bytearray(archive.read("report.pdf"))
        position = pdf.index(b"/Producer")  # inside the first signed byte range
        pdf[position + 1] = ord("Q")
        status = signature_status(bytes(pdf), trust=[organisation.cert_bytes])
        assert not status.valid

    def test_the_signed_report_lists_every_other_file_with_its_digest(
        self, pack_download: Callable[..., Any]
    ) -> None:
        _, _, archive = pack_download()
        text = re.sub(r"\s+", "", _report_text(archive))
        others = [name for name in archive.namelist() if name != "report.pdf"]
        assert "figures/audit.json" in others and "audit/checkpoints.json" in others
        for name in others:
            assert hashlib.sha256(archive.read(name)).hexdigest() in text, name


class TestContents:
    def test_every_section_as_json_and_csv(self, pack_download: Callable[..., Any]) -> None:
        _, _, archive = pack_download()
        names = set(archive.namelist())
        for section in SECTIONS:
            assert {f"figures/{section}.json", f"figures/{section}.csv"} <= names, section
        assert "figures/authentication-by_role.csv" in names

    def test_the_csv_holds_the_json_values(self, pack_download: Callable[..., Any]) -> None:
        _, _, archive = pack_download()
        document = json.loads(archive.read("figures/access.json"))
        rows = list(csv.DictReader(io.StringIO(archive.read("figures/access.csv").decode())))
        assert {row["figure"]: row["value"] for row in rows} == {
            key: "" if value is None else str(value) for key, value in document["figures"].items()
        }

    def test_the_period_asked_is_the_period_reported(
        self, pack_download: Callable[..., Any]
    ) -> None:
        response, _, archive = pack_download(date_from="2026-01-01", date_to="2026-03-31")
        document = json.loads(archive.read("figures/access.json"))
        assert document["period"]["from"] == "2026-01-01"
        assert document["period"]["to"] == "2026-03-31"
        assert "evidence-pack-20260101-20260331.zip" in response["Content-Disposition"]

    def test_files_missing_from_the_store_are_checked_in_the_pack(
        self, pack_download: Callable[..., Any], personas: Any
    ) -> None:
        message_sent(author=personas.clinician, patient=personas.patient)
        _, _, archive = pack_download()
        figures = json.loads(archive.read("figures/encryption.json"))["figures"]
        assert (figures["files_checked"], figures["files_missing"]) == (1, 0)


class TestCheckpoints:
    def test_the_periods_checkpoints_with_an_anchor_field(
        self, pack_download: Callable[..., Any], personas: Any
    ) -> None:
        events_seal(wait_seconds=0)
        expected = list(AuditCheckpoint.objects.order_by("through_event_id"))
        assert expected
        _, _, archive = pack_download()
        document = json.loads(archive.read("audit/checkpoints.json"))
        listed = document["checkpoints"]
        assert [c["through_event_id"] for c in listed] == [c.through_event_id for c in expected]
        assert listed[-1]["head_hash"] == expected[-1].head_hash
        assert listed[-1]["signature"] == expected[-1].signature
        assert all(c["anchor"] is None for c in listed)

    def test_each_anchored_checkpoint_names_its_anchor(
        self, pack_download: Callable[..., Any], personas: Any, settings: Any, tmp_path: Path
    ) -> None:
        settings.AUDIT_ANCHOR_SINK = "file"
        settings.AUDIT_ANCHOR_PATH = str(tmp_path / "audit-anchors.jsonl")
        events_seal(wait_seconds=0)
        anchors = {a.checkpoint_id: a.location for a in AuditAnchor.objects.all()}
        assert anchors
        _, _, archive = pack_download()
        listed = json.loads(archive.read("audit/checkpoints.json"))["checkpoints"]
        by_through = {c.through_event_id: c.pk for c in AuditCheckpoint.objects.all()}
        for row in listed:
            assert row["anchor"]["location"] == anchors[by_through[row["through_event_id"]]]

    def test_the_public_key_that_signed_them_is_in_the_pack(
        self, pack_download: Callable[..., Any], personas: Any, tmp_path: Path
    ) -> None:
        events_seal(wait_seconds=0)
        _, _, archive = pack_download()
        pem = tmp_path / "public-keys.pem"
        pem.write_bytes(archive.read("audit/public-keys.pem"))
        key_id = chain.public_key_id(public_key_load(pem))
        signed = AuditCheckpoint.objects.filter(algorithm=chain.ED25519)
        assert signed.exists() and {c.key_id for c in signed} == {key_id}
        assert b"PRIVATE" not in archive.read("audit/public-keys.pem")

    def test_a_period_before_them_holds_none(self, pack_download: Callable[..., Any]) -> None:
        events_seal(wait_seconds=0)
        _, _, archive = pack_download(date_from="2025-01-01", date_to="2025-01-31")
        assert json.loads(archive.read("audit/checkpoints.json"))["checkpoints"] == []


class TestTraceability:
    def test_the_matrix_is_included_when_the_installation_has_one(
        self, pack_download: Callable[..., Any], settings: Any, tmp_path: Path
    ) -> None:
        matrix = tmp_path / TRACEABILITY
        matrix.parent.mkdir()
        matrix.write_text('[[requirement]]\nid = "164.312(b)"\n')
        settings.BASE_DIR = tmp_path
        _, _, archive = pack_download()
        assert archive.read("traceability.toml") == matrix.read_bytes()
        assert "The matrix of requirements" in _report_text(archive)

    def test_without_one_the_report_says_so(
        self, pack_download: Callable[..., Any], settings: Any, tmp_path: Path
    ) -> None:
        settings.BASE_DIR = tmp_path
        _, _, archive = pack_download()
        assert "traceability.toml" not in archive.namelist()
        assert "has no traceability matrix" in _report_text(archive)


class TestSameFiguresAsTheDashboard:
    def test_every_figure_of_the_pack_is_the_one_the_dashboard_shows(
        self, pack_download: Callable[..., Any], client_for: Any, personas: Any
    ) -> None:
        message_sent(author=personas.clinician, patient=personas.patient)
        events_seal(wait_seconds=0)
        page = client_for(personas.privacy_officer).get(reverse("evidence:dashboard"))
        shown = {
            (section, key): html.unescape(value)
            for section, key, value in re.findall(
                r'<tr data-figure="(\w+)\.(\w+)">.*?data-value="([^"]*)"',
                page.content.decode(),
                re.S,
            )
        }
        _, _, archive = pack_download()
        compared = 0
        for section in SECTIONS:
            values = json.loads(archive.read(f"figures/{section}.json"))["figures"]
            for key, value in values.items():
                if key in ("files_checked", "files_missing"):  # checked in the pack only
                    continue
                if key == "unsealed_events":  # opening the dashboard is itself an event
                    value -= 1
                assert shown[(section, key)] == ("" if value is None else str(value)), key
                compared += 1
        assert compared == len(shown) - 2 > 40

    def test_the_report_is_in_english_and_names_the_period(
        self, pack_download: Callable[..., Any]
    ) -> None:
        _, _, archive = pack_download(date_from="2026-11-01", date_to="2026-11-30")
        text = _report_text(archive)
        assert "Evidence pack: 1 November 2026 to 30 November 2026" in text
        assert "Right of access" in text and "Requests received in the period" in text
