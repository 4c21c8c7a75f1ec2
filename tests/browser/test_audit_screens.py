"""The privacy officer searches and exports the audit log; a patient sees who looked."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from accounts.actions import AccountsAction
from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.services import event_record
from tests.browser.helpers import sign_in_with_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_privacy_officer_filters_and_exports_the_log(page: Any, personas: Any) -> None:
    sign_in_with_totp(page, personas.privacy_officer)
    page.get_by_role("link", name="Audit log", exact=True).click()
    page.get_by_label("Action").select_option(AccountsAction.MFA_VERIFIED.value)
    page.get_by_role("button", name="Search").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 1  # the officer's own second step, just now
    assert "accounts.mfa_verified" in rows.first.inner_text()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export as CSV").click()
    content = Path(download_info.value.path()).read_text(encoding="utf-8")
    records = list(csv.DictReader(io.StringIO(content)))
    assert [r["action"] for r in records] == ["accounts.mfa_verified"]
    assert AuditEvent.objects.filter(action=AuditAction.EXPORTED).count() == 1


def test_a_patient_sees_which_staff_member_viewed_their_record(page: Any, personas: Any) -> None:
    event_record(
        action=AccountsAction.ADMIN_CHANGE,
        actor=personas.clinician,
        target=personas.patient,
        patient_id=personas.patient.pk,
    )
    sign_in_with_totp(page, personas.patient)
    page.get_by_role("link", name="Who viewed my information").first.click()
    row = page.locator("tbody tr").first
    text = row.inner_text()
    assert re.search(r"Cedric Nakamura \(Clinician\)", text)
    assert "Account details" in text
