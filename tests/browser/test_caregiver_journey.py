"""An adult patient invites a caregiver who may only read messages, in headless Chromium.

The patient invites from the "Proxies" page (signed in moments ago: the second factor is
fresh); the caregiver follows the e-mailed invitation, sets a password and an
authenticator app, chooses whom to act for, reads the message and finds no reply form;
the patient stops their access, and the caregiver's next click lands on the page that
says they have no access. Two browser contexts: two people on two devices.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuthenticatorApp, ProxyKind, ProxyLink, ProxyScope
from tests.accounts.helpers import totp_now
from tests.browser.helpers import sign_in_with_totp
from tests.conftest import body_text
from tests.messaging.factories import message_sent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CAREGIVER_EMAIL = "casey.caregiver@mail.test"
CAREGIVER_NAME = "Casey Okonkwo-Lind"
NEW_PASSWORD = "plum tree under the quiet bridge"
SUBJECT = "Your appointment on Thursday"


@pytest.fixture
def caregiver_page(browser: Any, live_server: Any, page: Any) -> Iterator[Any]:
    """A second person on a second device; ``page`` is the patient's browser."""
    context = browser.new_context(base_url=live_server.url)
    second = context.new_page()
    second.set_default_timeout(15_000)
    yield second
    context.close()


def _invite(page: Any, personas: Any) -> None:
    sign_in_with_totp(page, personas.patient)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Proxies").click()
    page.get_by_role("link", name="Invite a caregiver").click()
    page.get_by_label("Their full name").fill(CAREGIVER_NAME)
    page.get_by_label("Their e-mail address").fill(CAREGIVER_EMAIL)
    page.get_by_label("Read your messages with your care team").check()
    page.get_by_role("button", name="Send the invitation").click()
    page.get_by_text(f"{CAREGIVER_NAME} can act for you once they sign in.").wait_for()
    assert page.get_by_text("Invited: not signed in yet").is_visible()


def _accept(caregiver_page: Any, smtp_server: Any) -> None:
    [mail] = [m for m in smtp_server.messages if m["X-Envelope-To"] == CAREGIVER_EMAIL]
    link = re.search(r"http://\S+/invitation/\S+/", body_text(mail))
    assert link is not None
    caregiver_page.goto(link.group(0))
    caregiver_page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    caregiver_page.get_by_label("New password again").fill(NEW_PASSWORD)
    caregiver_page.get_by_role("button", name="Save password").click()
    caregiver_page.get_by_role("button", name="Confirm").wait_for()
    device = AuthenticatorApp.objects.get(user__email=CAREGIVER_EMAIL)
    caregiver_page.get_by_label("6-digit code from your app").fill(totp_now(device))
    caregiver_page.get_by_role("button", name="Confirm").click()
    caregiver_page.get_by_role("link", name="I have saved them").click()


def test_a_read_only_caregiver_reads_cannot_reply_and_is_stopped(
    page: Any, caregiver_page: Any, personas: Any, smtp_server: Any
) -> None:
    message_sent(author=personas.clinician, patient=personas.patient, subject=SUBJECT)
    _invite(page, personas)
    link = ProxyLink.objects.get(patient=personas.patient)
    assert (link.kind, link.scopes) == (ProxyKind.CAREGIVER, [ProxyScope.READ_MESSAGES])

    _accept(caregiver_page, smtp_server)
    caregiver_page.get_by_role("heading", name="Whom are you acting for?").wait_for()
    caregiver_page.get_by_role("button", name="Act for Penelope Quartermaine").click()
    caregiver_page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Messages"
    ).click()
    caregiver_page.get_by_role("link", name=SUBJECT).click()
    caregiver_page.get_by_text("Please bring your medication list.").wait_for()
    assert caregiver_page.get_by_text("does not include sending messages").is_visible()
    assert caregiver_page.get_by_role("button", name="Send reply").count() == 0
    assert caregiver_page.get_by_text("Acting for: Penelope Quartermaine").is_visible()

    page.reload()
    assert page.get_by_text("Active", exact=True).is_visible()
    page.get_by_role("link", name="Stop their access").click()
    page.get_by_label("Yes, stop their access now").check()
    page.get_by_role("button", name="Stop their access").click()
    page.get_by_text(f"{CAREGIVER_NAME} can no longer act for you.").wait_for()
    assert page.get_by_text("You stopped it on").is_visible()

    caregiver_page.reload()
    assert caregiver_page.url.endswith(reverse("portal:acting_choose"))
    assert caregiver_page.get_by_text("You have no proxy access at the moment.").is_visible()
    assert caregiver_page.get_by_text("Please bring your medication list.").count() == 0
