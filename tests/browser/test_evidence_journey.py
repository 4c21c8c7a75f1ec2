"""The privacy officer opens the compliance dashboard, downloads the evidence pack for the
last 30 days after confirming their second factor again, and the pack opens: a ZIP whose
report is a signed PDF and whose figures are the ones the dashboard showed."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from accounts.models import AuthenticatorApp
from audit.models import AuditEvent
from evidence.actions import EvidenceAction
from records.signing import signature_status
from tests.accounts.helpers import totp_now
from tests.browser.helpers import second_factor_goes_stale, sign_in_with_totp
from tests.records.factories import Identity, request_received

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_officer_downloads_the_pack_for_the_last_30_days(
    open_page: Any, personas: Any, organisation: Identity
) -> None:
    request_received(patient=personas.patient)
    page = open_page(width=1280)
    sign_in_with_totp(page, personas.privacy_officer)
    page.get_by_role("link", name="Compliance", exact=True).click()
    page.get_by_role("heading", name="Compliance", exact=True).wait_for()
    received = page.locator('tr[data-figure="access.received"] td')
    assert received.inner_text() == "1"
    dashboard_url = page.url

    second_factor_goes_stale(page)
    page.get_by_role("button", name="Download the evidence pack").click()
    page.get_by_role("heading", name="Confirm it's you").wait_for()
    device = AuthenticatorApp.objects.get(user=personas.privacy_officer)
    page.get_by_label("Code").fill(totp_now(device, offset_steps=1))  # sign-in's is spent
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Compliance", exact=True).wait_for()
    assert page.url == dashboard_url

    download = download_info.value
    assert download.suggested_filename.startswith("evidence-pack-")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    pdf = archive.read("report.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Evidence pack:" in text and "Right of access" in text
    assert signature_status(pdf, trust=[organisation.cert_bytes]).valid
    access = json.loads(archive.read("figures/access.json"))
    assert access["figures"]["received"] == 1
    first, last = (date.fromisoformat(access["period"][end]) for end in ("from", "to"))
    assert (last - first).days == 29  # the last 30 days, today included
    assert AuditEvent.objects.filter(action=EvidenceAction.PACK_EXPORTED).count() == 1
