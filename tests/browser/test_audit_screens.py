"""The privacy officer searches and exports the audit log; a patient sees who looked."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actions import AccountsAction
from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.services import event_record
from tests.accounts.helpers import totp_now
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page: Any, user: Any) -> None:
    page.goto(reverse("accounts:sign_in"))
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill(totp_now(TOTPDevice.objects.get(user=user)))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("link", name="Sign-in & security").wait_for()


def test_the_privacy_officer_filters_and_exports_the_log(page: Any, personas: Any) -> None:
    _sign_in(page, personas.privacy_officer)
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
    _sign_in(page, personas.patient)
    page.get_by_role("link", name="Who viewed my information").first.click()
    row = page.locator("tbody tr").first
    text = row.inner_text()
    assert re.search(r"Cedric Nakamura \(Clinician\)", text)
    assert "Account details" in text
