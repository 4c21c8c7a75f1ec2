"""Consent end to end in headless Chromium: authorize, disclose, pick up, account, revoke.

The patient signs an authorization in the portal; the clinician sends a package to the
person it names; that person opens the link from their e-mail, asks for a code, enters
it and downloads the file; the patient sees the disclosure in their accounting, then
revokes the authorization, and the recipient's open page stops working at once.
Three people, three browser contexts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from consent.models import Authorization, Disclosure
from tests.browser.helpers import sign_in_with_totp
from tests.conftest import body_text
from tests.messaging.factories import PDF_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECIPIENT = "dr.rivera@northside-clinic.test"
RECIPIENT_NAME = "Dr. Ana Rivera"
SUBJECT = "Knee MRI report for your referral"
FILE_NAME = "knee-mri.pdf"
LINK = re.compile(r"(http://\S+/portal/pickup/[^/\s]+/)")
CODE = re.compile(r"\b(\d{6})\b")


def _context_page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def clinician_page(browser: Any, live_server: Any, page: Any) -> Iterator[Any]:
    yield from _context_page(browser, live_server)


@pytest.fixture
def guest_page(browser: Any, live_server: Any, page: Any) -> Iterator[Any]:
    yield from _context_page(browser, live_server)


def _mails_to(smtp_server: Any, address: str) -> list[str]:
    return [body_text(m) for m in smtp_server.messages if m["X-Envelope-To"] == address]


def _patient_signs(page: Any, personas: Any) -> None:
    sign_in_with_totp(page, personas.patient)
    page.get_by_role("link", name="Sharing", exact=True).click()
    page.get_by_role("link", name="Share my records with someone").click()
    page.get_by_label("Laboratory results").check()
    page.get_by_label("Imaging reports").check()
    page.get_by_label("Describe the information").fill("My knee MRI and blood tests from 2026")
    page.get_by_label("Name of the person who gets it").fill(RECIPIENT_NAME)
    page.get_by_label("Their e-mail address").fill(RECIPIENT)
    page.get_by_label("Care by another doctor or clinic").check()
    expiry = timezone.localdate() + timedelta(days=180)
    page.get_by_label("This permission ends on").fill(expiry.isoformat())
    page.get_by_label("I am the patient", exact=True).check()
    page.get_by_label("Type your full name as your signature").fill(personas.patient.full_name)
    page.get_by_label("I have read the statements above and I sign this authorization").check()
    page.get_by_role("button", name="Sign the authorization").click()
    page.get_by_role("heading", name=f"Authorization for {RECIPIENT_NAME}").wait_for()
    page.get_by_text("Active", exact=True).first.wait_for()


def _clinician_sends(page: Any, personas: Any) -> None:
    patient = personas.patient
    sign_in_with_totp(page, personas.clinician)
    page.get_by_role("link", name="Messages", exact=True).click()
    page.get_by_role("link", name="New message").click()
    page.get_by_label("Find a patient").fill(patient.patient_profile.mrn)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=patient.patient_profile.legal_name).click()
    page.get_by_role("link", name="Send to a third party").first.click()
    page.get_by_label("Recipient's e-mail address").fill(RECIPIENT)
    page.get_by_label("Recipient's name").fill(RECIPIENT_NAME)
    page.get_by_label("Purpose of the disclosure").select_option(
        label="Care by another doctor or clinic"
    )
    page.get_by_label("Imaging reports").check()
    page.get_by_label("Subject", exact=True).fill(SUBJECT)
    page.get_by_label("Message", exact=True).fill("The MRI report you asked us to send.")
    page.get_by_label("Attachments").set_input_files(
        [{"name": FILE_NAME, "mimeType": "application/pdf", "buffer": PDF_BYTES}]
    )
    page.get_by_role("button", name="Send securely to the third party").click()
    page.get_by_role("heading", name=re.compile("Packages sent to third parties")).wait_for()


def _guest_picks_up(page: Any, smtp_server: Any) -> None:
    (notice,) = _mails_to(smtp_server, RECIPIENT)
    assert SUBJECT.lower() not in notice.lower() and "penelope" not in notice.lower()
    link = LINK.search(notice)
    assert link is not None
    page.goto(link.group(1))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Send me a code").click()
    page.get_by_text("We sent a code").wait_for()
    code = CODE.search(_mails_to(smtp_server, RECIPIENT)[-1])
    assert code is not None
    page.get_by_label("One-time code").fill(code.group(1))
    page.get_by_role("button", name="Open the information").click()
    page.get_by_role("heading", name=SUBJECT).wait_for()
    with page.expect_download() as download_info:
        page.get_by_role("link", name=FILE_NAME).click()
    download = download_info.value
    assert download.suggested_filename == FILE_NAME
    assert Path(download.path()).read_bytes() == PDF_BYTES


def _patient_sees_the_disclosure_then_revokes(page: Any) -> None:
    page.get_by_role("link", name="Sharing", exact=True).click()
    page.get_by_role("link", name="Who we have sent your records to").click()
    row = page.get_by_role("row").filter(has_text=RECIPIENT_NAME)
    row.get_by_text("Care by another doctor or clinic").wait_for()
    row.get_by_role("link", name="Your authorization").click()
    page.get_by_label("Yes, stop this authorization from now on").check()
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text(re.compile("Revoked from")).wait_for()


def test_authorize_disclose_pick_up_account_and_revoke(
    page: Any,
    clinician_page: Any,
    guest_page: Any,
    personas: Any,
    smtp_server: Any,
    settings: Any,
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    _patient_signs(page, personas)
    _clinician_sends(clinician_page, personas)
    _guest_picks_up(guest_page, smtp_server)
    (disclosure,) = Disclosure.objects.all()
    assert disclosure.authorization == Authorization.objects.get()

    _patient_sees_the_disclosure_then_revokes(page)

    guest_page.reload()
    guest_page.get_by_role("heading", name="This information cannot be opened").wait_for()
    assert SUBJECT not in guest_page.content()
