"""The records clerk works one request in Chromium at 1280 px, from the queue to a built
package: the page names the next step first, keeps rare actions folded, and after each
step opens scrolled to the section acted on (not at the top). axe-core checks the page
with the package built."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from records.models import RecordRequest
from tests.browser.axe import axe_context, axe_violations, missing_references
from tests.browser.helpers import sign_in_with_totp
from tests.records.factories import pdf_pages, request_received

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture
def clerk_page(browser: Any, live_server: Any, settings: Any) -> Iterator[Any]:
    settings.PORTAL_BASE_URL = live_server.url
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the build runs during the request
    context = axe_context(browser, live_server.url, viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def _stays_at(page: Any, section: str) -> None:
    """The step came back to its section: the URL names it and it is on screen, below
    the top of the page."""
    page.wait_for_url(re.compile(rf"#{section}$"))
    scrolled, top = page.evaluate(
        "(id) => [window.scrollY, document.getElementById(id).getBoundingClientRect().top]",
        section,
    )
    assert scrolled > 0, f"#{section}: the page is at the top"
    assert -2 <= top < VIEWPORT["height"] / 2, f"#{section} is not in view (top {top})"


def _folded(page: Any, name: str) -> bool:
    return not page.locator(f"details#{name}").evaluate("el => el.open")


def test_a_clerk_works_a_request_from_the_queue_to_a_built_package(
    clerk_page: Any, personas: Any
) -> None:
    page = clerk_page
    request_received(patient=personas.patient)
    legal_name = personas.patient.patient_profile.legal_name
    sign_in_with_totp(page, personas.records_clerk)
    page.get_by_role("link", name="Record requests", exact=True).click()
    page.get_by_role("link", name=legal_name).click()
    page.get_by_role("heading", name=f"Request for records: {legal_name}").wait_for()

    # It was ~3,100 px with every form open; folded it is ~2,050 px (a margin for changes).
    assert page.evaluate("() => document.documentElement.scrollHeight") < 2500
    status = page.locator("#status")
    assert "Assigned to: Nobody" in status.inner_text()
    assert all(_folded(page, name) for name in ("extend", "deny", "withdraw"))
    assert not page.get_by_role("button", name="Send the denial letter").is_visible()

    status.get_by_role("link", name="Check identity").click()
    page.get_by_label("Signed in to the portal with two factors").check()
    page.get_by_role("button", name="Record the verification").click()
    _stays_at(page, "identity")
    assert "Assigned to: Rhea Vantongeren (you)" in page.locator("#status").inner_text()

    page.locator("#status").get_by_role("link", name="Attach documents").click()
    page.get_by_role("button", name="Source documents").set_input_files(
        [
            {"name": "notes.pdf", "mimeType": "application/pdf", "buffer": pdf_pages("Note")},
            {"name": "labs.pdf", "mimeType": "application/pdf", "buffer": pdf_pages("K 5.1")},
        ]
    )
    page.get_by_role("button", name="Upload").click()
    _stays_at(page, "documents")

    page.get_by_label("Title of document 2").fill("Blood tests 2026")
    page.get_by_role("button", name="Save title of document 2").click()
    _stays_at(page, "documents")
    page.get_by_role("button", name="Move up document 2").click()
    _stays_at(page, "documents")
    titles = page.locator("ol.documents > li > strong").all_inner_texts()
    assert titles == ["Blood tests 2026", "notes.pdf"]

    page.locator("#status").get_by_role("link", name="Build the package").click()
    page.locator("#package").get_by_role("button", name="Build the package").click()
    _stays_at(page, "package")
    page.get_by_text(re.compile(r"Built, \d+ pages, signed")).wait_for()
    package_text = page.locator("#package").inner_text()
    assert "Waiting to build" not in package_text and "Not built" not in package_text
    assert "being built" not in page.locator("main").inner_text().lower()
    page.get_by_role("button", name="Send to the patient's portal").wait_for()

    violations = axe_violations(page) + missing_references(page)
    assert not violations, [(v["id"], v["help"]) for v in violations]
    request = RecordRequest.objects.get()
    assert request.assigned_to == personas.records_clerk and request.package_pages
