"""A request for records end to end in headless Chromium, from the portal to the signed PDF.

The patient asks for a copy in the portal; the records clerk finds it in the queue,
records the verification, uploads two documents, builds the package (the page shows the
build's progress and then the signed package), and sends it to the portal; the patient
opens the message, downloads the PDF, whose signature pyHanko validates against the
organisation's certificate, and sees the request fulfilled. Two people, two contexts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from records.models import RecordRequest, RequestState
from records.signing import signature_status
from tests.browser.helpers import sign_in_with_totp
from tests.records.factories import Identity, pdf_pages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clerk_page(browser: Any, live_server: Any, page: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url)
    clerk_page = context.new_page()
    clerk_page.set_default_timeout(20_000)
    yield clerk_page
    context.close()


def _patient_asks(page: Any, personas: Any) -> None:
    sign_in_with_totp(page, personas.patient)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My records").click()
    page.get_by_role("link", name="Request a copy of my records").click()
    page.get_by_label("Laboratory results").check()
    page.get_by_label("Anything else we should know (optional)").fill("My 2026 blood tests")
    page.get_by_role("button", name="Send my request").click()
    page.get_by_role("heading", name="My request for my records").wait_for()
    page.get_by_text("Status: Received").wait_for()


def _clerk_fulfils(page: Any, personas: Any, tmp_path: Path) -> None:
    sign_in_with_totp(page, personas.records_clerk)
    page.get_by_role("link", name="Record requests", exact=True).click()
    legal_name = personas.patient.patient_profile.legal_name
    page.get_by_role("link", name=legal_name).click()
    page.get_by_role("heading", name=f"Request for records: {legal_name}").wait_for()
    page.get_by_label("Signed in to the portal with two factors").check()
    page.get_by_role("button", name="Record the verification").click()
    page.get_by_text("Identity verified").first.wait_for()
    page.get_by_role("button", name="Source documents").set_input_files(
        [
            {"name": "labs.pdf", "mimeType": "application/pdf", "buffer": pdf_pages("K 5.1")},
            {"name": "notes.pdf", "mimeType": "application/pdf", "buffer": pdf_pages("Note")},
        ]
    )
    page.get_by_role("button", name="Upload").click()
    page.get_by_role("button", name="Build the package").click()
    # Eager tasks build during the request; the page then shows the signed package.
    page.get_by_text(re.compile(r"\d+ pages, signed")).wait_for()
    page.get_by_role("link", name="Download the package (PDF)").wait_for()
    page.get_by_role("button", name="Send to the patient's portal").click()
    page.locator("dd").filter(has_text=re.compile(r": on time$")).wait_for()


def _patient_downloads(page: Any, organisation: Identity) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My records").click()
    page.get_by_role("row").filter(has_text="Fulfilled").get_by_role("link").first.click()
    page.get_by_text("Status: Fulfilled").wait_for()
    page.get_by_role("link", name="Open the message with your copy").click()
    page.get_by_role("heading", name="Your copy of your records").wait_for()
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"records-.*\.pdf")).click()
    pdf = Path(download_info.value.path()).read_bytes()
    status = signature_status(pdf, trust=[organisation.cert_bytes])
    assert status.intact and status.valid


def test_request_verify_build_send_and_download_on_time(
    page: Any,
    clerk_page: Any,
    personas: Any,
    organisation: Identity,
    smtp_server: Any,
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    _patient_asks(page, personas)
    _clerk_fulfils(clerk_page, personas, tmp_path)
    _patient_downloads(page, organisation)
    request = RecordRequest.objects.get()
    assert request.state == RequestState.FULFILLED
    assert request.closed_at is not None and request.closed_at < request.due_at
