"""Staff record a guardian and the privacy officer suspends them, in headless Chromium.

The records clerk opens the patient page, records a guardian with their scanned order of
guardianship (the form's upload), and sees the link in force; the guardian's invitation
goes out; the privacy officer suspends the link with a reason, and the guardian's next
request is refused.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuthenticatorApp, ProxyLink, Role
from accounts.proxies import ACTING_FOR_SESSION_KEY
from tests.browser.helpers import sign_in_with_totp
from tests.conftest import body_text, sign_in_client
from tests.messaging.factories import PDF_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_guardian_is_recorded_then_suspended(
    page: Any, browser: Any, live_server: Any, personas: Any, smtp_server: Any
) -> None:
    sign_in_with_totp(page, personas.records_clerk)
    page.goto(reverse("directory:patient", args=[personas.patient.pk]))
    page.get_by_role("link", name="Record a parent, guardian or power of attorney").click()
    page.get_by_label("The proxy's full name").fill("Gwen Abernathy")
    page.get_by_label("The proxy's e-mail address").fill("gwen.guardian@mail.test")
    page.get_by_label("Authority", exact=True).select_option(label="Legal guardian")
    page.get_by_label("Read messages").check()
    page.get_by_label("Request records").check()
    page.get_by_label("How you verified the proxy's identity").select_option(index=1)
    page.get_by_label("The document of authority").select_option(
        label="Court order of guardianship"
    )
    page.get_by_label("Scan of the document").set_input_files(
        {"name": "order.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}
    )
    page.get_by_label("I have verified this person's identity").check()
    page.get_by_role("button", name="Record the proxy").click()
    page.get_by_text("Gwen Abernathy").first.wait_for()

    link = ProxyLink.objects.get()
    assert (link.kind, sorted(link.scopes)) == ("guardian", ["read_messages", "request_records"])
    assert link.evidence is not None and link.verified_by_id == personas.records_clerk.pk
    assert link.proxy.role == Role.PROXY
    invitation = _mail_to(smtp_server, "gwen.guardian@mail.test")
    assert "Penelope" not in invitation and "Quartermaine" not in invitation

    # The guardian has set up their account (a second factor) and acts for the patient.
    guardian = link.proxy
    AuthenticatorApp.objects.create(user=guardian, name="Test app", confirmed=True)
    guardian_client = sign_in_client(Client(), guardian)
    session = guardian_client.session
    session[ACTING_FOR_SESSION_KEY] = personas.patient.pk
    session.save()
    assert guardian_client.get(reverse("portal:inbox")).status_code == 200

    officer_page = browser.new_context(base_url=live_server.url).new_page()
    officer_page.set_default_timeout(15_000)
    sign_in_with_totp(officer_page, personas.privacy_officer)
    officer_page.goto(reverse("directory:patient", args=[personas.patient.pk]))
    officer_page.get_by_text("Suspend at once").click()
    officer_page.get_by_label("Reason").fill("Concern for the patient's safety")
    officer_page.get_by_label("Suspend this link now").check()
    officer_page.get_by_role("button", name="Suspend the link").click()
    officer_page.get_by_text("Suspended").first.wait_for()

    link.refresh_from_db()
    assert link.suspended_at is not None
    assert link.suspension_reason == "Concern for the patient's safety"
    answer = guardian_client.get(reverse("portal:inbox"))
    assert answer.status_code == 302 and answer["Location"] == reverse("portal:acting_choose")


def _mail_to(smtp_server: Any, address: str, seconds: float = 15) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for message in smtp_server.messages:
            if address in message["To"]:
                return body_text(message)
        time.sleep(0.1)
    raise AssertionError(f"no e-mail to {address}")
