"""A form sent back with an error, in Chromium at 375 px: the error summary takes focus
and its links move focus to the field, the files to choose again are named, and a
counter shows the characters used where a limit exists (no text silently cut)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from messaging.models import Message
from tests.browser.axe import axe_context, axe_core_path, axe_violations, missing_references
from tests.browser.helpers import sign_in_with_totp
from tests.messaging.factories import PDF_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(browser: Any, live_server: Any) -> Iterator[Any]:
    axe_core_path()  # skip (or fail under CI) before any work is done
    context = axe_context(browser, live_server.url, viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _focused_id(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement && document.activeElement.id"))


def test_a_refused_form_leads_the_person_to_what_to_fix(phone: Any, personas: Any) -> None:
    page = phone
    sign_in_with_totp(page, personas.clinician)
    page.goto(reverse("messaging:compose", args=[personas.patient.pk]))
    long_subject = "Your results " + "x" * 237  # 250: pasted text is not cut to 200
    page.get_by_label("Subject").fill(long_subject)
    expect(page.get_by_text("250 of 200 characters")).to_be_visible()
    page.get_by_label("Message", exact=True).fill("See the attached letter.")
    page.get_by_label("Attachments").set_input_files(
        [{"name": "letter.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}]
    )
    page.get_by_role("button", name="Send securely").click()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_text("Choose these files again: letter.pdf")).to_be_visible()
    expect(page.locator("#id_attachments_again")).to_have_text(
        "Choose these files again: letter.pdf"
    )
    expect(page.get_by_label("Subject")).to_have_value(long_subject)
    expect(page.get_by_label("Message", exact=True)).to_have_value("See the attached letter.")
    assert axe_violations(page) + missing_references(page) == []

    summary.get_by_role("link", name="Subject:").click()
    assert _focused_id(page) == "id_subject"
    page.get_by_label("Subject").fill("Your results")
    expect(page.get_by_text("12 of 200 characters")).to_be_visible()
    assert not Message.objects.exists()
