"""The privacy officer searches the audit log by name and exports it (the fresh second
factor brings them back to the search, and the file downloads); a patient on a phone
sees who looked at their information, one line per person, day and kind of access."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuthenticatorApp
from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.services import event_record
from tests.accounts.helpers import totp_now
from tests.browser.axe import axe_violations, missing_references
from tests.browser.helpers import second_factor_goes_stale, sign_in_with_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FITS = """() => {
  const table = document.querySelector('table.audit-events');
  const card = table ? table.closest('.card') : null;
  return {
    page: document.documentElement.scrollWidth,
    window: window.innerWidth,
    table: table ? Math.ceil(table.getBoundingClientRect().right) : 0,
    card: card ? Math.floor(card.getBoundingClientRect().right) : 0,
  };
}"""


def _accesses(personas: Any) -> None:
    patient = personas.patient
    for _ in range(3):
        event_record(
            action="messaging.thread_viewed", actor=personas.clinician, patient_id=patient.pk
        )
    event_record(
        action="records.request_viewed", actor=personas.records_clerk, patient_id=patient.pk
    )
    # Internal work the patient is not shown.
    event_record(
        action="retention.hold_placed", actor=personas.privacy_officer, patient_id=patient.pk
    )
    event_record(action="audit.searched", actor=personas.privacy_officer, patient_id=patient.pk)
    event_record(action="messaging.inbox_listed", actor=personas.clinician, patient_id=patient.pk)


def _search_by_name(page: Any, personas: Any) -> None:
    page.get_by_role("link", name="Audit log", exact=True).click()
    page.get_by_label("Patient").fill("Quartermaine")
    page.get_by_label("Action").select_option(label="Conversation viewed")
    page.get_by_role("button", name="Search").click()
    page.locator("table.audit-events").wait_for()


def test_the_officer_searches_by_name_and_the_export_returns_to_the_search(
    open_page: Any, personas: Any
) -> None:
    _accesses(personas)
    page = open_page(width=1280)
    sign_in_with_totp(page, personas.privacy_officer)
    _search_by_name(page, personas)
    rows = page.locator("table.audit-events tbody tr")
    assert rows.count() == 3
    text = rows.first.inner_text()
    assert "Conversation viewed" in text and "messaging.thread_viewed" not in text
    assert "Cedric Nakamura" in text and "Penelope Quartermaine" in text
    fits = page.evaluate(FITS)
    assert fits["table"] <= fits["card"] and fits["page"] <= fits["window"], fits
    search_url = page.url

    second_factor_goes_stale(page)
    page.get_by_role("link", name="Export as CSV").click()
    page.get_by_role("heading", name="Confirm it's you").wait_for()
    assert page.get_by_role("link", name="Cancel and go back").is_visible()
    device = AuthenticatorApp.objects.get(user=personas.privacy_officer)
    page.get_by_label("Code").fill(totp_now(device, offset_steps=1))  # sign-in's is spent
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Audit log").wait_for()
    assert page.url == search_url  # back on the search, its results shown again
    assert page.locator("table.audit-events tbody tr").count() == 3
    content = Path(download_info.value.path()).read_text(encoding="utf-8")
    records = list(csv.DictReader(io.StringIO(content)))
    assert [r["action"] for r in records] == ["messaging.thread_viewed"] * 3
    assert AuditEvent.objects.filter(action=AuditAction.EXPORTED).count() == 1


def test_the_officers_search_passes_axe(open_page: Any, personas: Any) -> None:
    _accesses(personas)
    page = open_page(width=1280, axe=True)
    sign_in_with_totp(page, personas.privacy_officer)
    _search_by_name(page, personas)
    assert axe_violations(page) + missing_references(page) == []


def test_a_patient_on_a_phone_sees_who_looked_grouped(open_page: Any, personas: Any) -> None:
    _accesses(personas)
    page = open_page(width=375, axe=True)
    sign_in_with_totp(page, personas.patient)
    page.goto(reverse("audit:my_access_log"))
    entries = page.locator(".access-entry")
    assert entries.count() == 2
    texts = sorted(entries.all_inner_texts())
    assert "Cedric Nakamura" in texts[0] and "Read your messages" in texts[0]
    assert "3 times" in texts[0]
    assert "Worked on your request for records" in texts[1] and "Once" in texts[1]
    body = page.locator("main").inner_text().lower()
    assert "legal hold" not in body and "audit" not in body
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) + missing_references(page) == []
