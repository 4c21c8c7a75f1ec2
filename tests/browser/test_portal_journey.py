"""The whole journey in headless Chromium, from the clinician's message to the read receipt.

A clinician composes with an attachment; the notice reaches the loopback SMTP server; the
patient follows its link, signs in (password with TOTP, or password with a passkey from a
CDP virtual authenticator), reads, downloads the attachment and replies with one; the
clinician sees the reply, the read receipt and the download receipt.

The clinician and the patient use separate browser contexts, as two people on two devices.

Screenshots of the patient's inbox and of the message, at 375 px and 1280 px wide, are
kept as test artifacts under ``var/test-artifacts/portal/`` (git-ignored), named
``<journey>-<screen>-<width>px.png``, e.g. ``totp-inbox-375px.png``.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import AuthenticatorApp
from tests.accounts.helpers import totp_now
from tests.browser.helpers import sign_in_with_totp, virtual_authenticator
from tests.conftest import PASSWORD, body_text
from tests.messaging.factories import PDF_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts" / "portal"
WIDTHS = (375, 1280)
DESKTOP = {"width": 1280, "height": 800}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

SUBJECT = "Your potassium result"
BODY = "Your **potassium** came back a little high.\n\n- eat fewer bananas\n- repeat in a week"
LETTER = "potassium-letter.pdf"
REPLY = "Thank you. Here is my food diary for the week."
DIARY = "food-diary.png"
# A real 1x1 PNG: the upload check decides the type from the first bytes.
DIARY_BYTES = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
WHEN = r"\d{1,2} \w{3} \d{4}, \d{2}:\d{2}"


@pytest.fixture(autouse=True)
def _artifacts_dir() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def clinician_page(browser: Any, live_server: Any, page: Any) -> Iterator[Any]:
    """A second person on a second device; ``page`` is the patient's browser."""
    context = browser.new_context(base_url=live_server.url)
    clinician_page = context.new_page()
    clinician_page.set_default_timeout(15_000)
    yield clinician_page
    context.close()


def _file(name: str, mime: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


def _downloaded(page: Any, link_name: str) -> tuple[str, bytes]:
    with page.expect_download() as download_info:
        page.get_by_role("link", name=link_name, exact=True).click()
    download = download_info.value
    return download.suggested_filename, Path(download.path()).read_bytes()


# --- the clinician ------------------------------------------------------------------------


def _clinician_sends(page: Any, personas: Any) -> None:
    patient = personas.patient
    sign_in_with_totp(page, personas.clinician)
    page.get_by_role("link", name="Messages", exact=True).click()
    page.get_by_role("link", name="New message").click()
    page.get_by_label("Find a patient").fill(patient.patient_profile.mrn)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=patient.patient_profile.legal_name).click()
    page.get_by_label("Subject", exact=True).fill(SUBJECT)
    page.get_by_label("Kind of message").select_option(label="Clinical")
    page.get_by_label("Message", exact=True).fill(BODY)
    page.get_by_label("Attachments").set_input_files([_file(LETTER, "application/pdf", PDF_BYTES)])
    page.get_by_role("button", name="Send securely").click()
    page.get_by_role("heading", name=SUBJECT, level=1).wait_for()
    page.get_by_text("Not opened yet.").wait_for()
    page.get_by_text(re.compile(r"E-mail notice: sent ")).wait_for()


def _clinician_sees_the_reply_and_receipts(page: Any, personas: Any) -> None:
    page.get_by_role("link", name="Messages", exact=True).click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=SUBJECT, exact=True))
    row.get_by_text("1 unread").wait_for()
    row.get_by_role("link", name=SUBJECT, exact=True).click()
    page.locator(".message-item.from-patient").wait_for()

    sent, reply = page.locator(".message-item").all()
    receipt = sent.locator(".receipt").inner_text()
    assert re.fullmatch(r"Opened by the patient " + WHEN + r"\.", receipt)
    letter = sent.locator("ul.attachments li").inner_text()
    assert re.fullmatch(re.escape(LETTER) + r" \(.+\) · downloaded by the patient " + WHEN, letter)
    assert reply.locator(".meta strong").inner_text() == f"{personas.patient.full_name} (patient)"
    assert reply.locator(".body").inner_text() == REPLY
    assert _downloaded(page, DIARY) == (DIARY, DIARY_BYTES)


# --- the notice ---------------------------------------------------------------------------


def _link_in_the_notice(smtp_server: Any, personas: Any, live_server: Any) -> str:
    """The one notice: to the patient, nothing from the message, a link to sign in."""
    assert len(smtp_server.messages) == 1
    notice = smtp_server.messages[0]
    assert notice["X-Envelope-To"] == personas.patient.email
    everything = "\n".join([*map(str, notice.values()), body_text(notice)]).lower()
    forbidden = [
        SUBJECT,
        "potassium",
        "bananas",
        LETTER,
        personas.clinician.full_name,
        "nakamura",
        personas.patient.full_name,
        personas.patient.patient_profile.mrn,
    ]
    assert [word for word in forbidden if word.lower() in everything] == []
    link = re.search(r"http://\S+/sign-in/", notice.get_body(("plain",)).get_content())
    assert link is not None
    assert link.group(0) == live_server.url + reverse("accounts:sign_in")
    return link.group(0)


# --- the patient --------------------------------------------------------------------------


def _password_from_the_link(page: Any, link: str, user: Any) -> None:
    page.goto(link)
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()


def _second_factor_totp(page: Any, user: Any) -> None:
    page.get_by_label("Code").fill(totp_now(AuthenticatorApp.objects.get(user=user)))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name=f"Hello, {user.full_name}").wait_for()


def _second_factor_passkey(page: Any, user: Any) -> None:
    page.get_by_role("heading", name="Second step").wait_for()
    # The passkey script needs its translation catalogue, loaded async: wait for "load".
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Use a passkey").click()
    page.get_by_role("heading", name=f"Hello, {user.full_name}").wait_for()
    passkey = WebAuthnCredential.objects.get(user=user, confirmed=True)
    assert passkey.last_used_at is not None  # set by a passkey sign-in, not by registering


def _passkey_registered_then_signed_out(page: Any, user: Any) -> None:
    sign_in_with_totp(page, user)
    page.goto(reverse("accounts:passkey_add"))  # goto waits for "load"
    page.get_by_role("button", name="Create a passkey").click()
    page.wait_for_url(re.compile(r"/security/$"))
    page.get_by_role("cell", name="Passkey", exact=True).wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out.").wait_for()


def _screenshots(page: Any, journey: str, screen: str) -> None:
    for width in WIDTHS:
        path = ARTIFACTS / f"{journey}-{screen}-{width}px.png"
        path.unlink(missing_ok=True)  # a file left by an earlier run proves nothing
        page.set_viewport_size({"width": width, "height": DESKTOP["height"]})
        # Two animation frames: the layout at the new width, not the one before it.
        page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        page.screenshot(path=str(path), full_page=True)
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        # IHDR's width: content wider than the window (sideways scrolling on a phone)
        # widens a full-page shot.
        assert struct.unpack(">I", data[16:20])[0] == width
    page.set_viewport_size(DESKTOP)


def _patient_reads_and_downloads(page: Any, personas: Any, journey: str) -> None:
    page.get_by_role("link", name="Open your messages").click()
    unread = page.locator(".thread-list li.unread")
    assert unread.locator(".badge").inner_text() == "New"
    _screenshots(page, journey, "inbox")

    unread.get_by_role("link", name=SUBJECT).click()
    page.get_by_role("heading", name=SUBJECT, level=1).wait_for()
    message = page.locator(".message-item")
    assert message.locator(".meta strong").inner_text() == personas.clinician.full_name
    assert message.locator(".body strong").inner_text() == "potassium"
    assert message.locator(".body li").all_inner_texts() == [
        "eat fewer bananas",
        "repeat in a week",
    ]
    _screenshots(page, journey, "message")
    assert _downloaded(page, LETTER) == (LETTER, PDF_BYTES)


def _patient_replies(page: Any) -> None:
    # The form's hidden send key is not a field a person should see a label for.
    reply_form = page.locator("form").filter(has=page.get_by_role("button", name="Send reply"))
    assert reply_form.locator("label").all_inner_texts() == ["Message", "Attachments"]
    page.get_by_label("Message", exact=True).fill(REPLY)
    page.get_by_label("Attachments").set_input_files([_file(DIARY, "image/png", DIARY_BYTES)])
    page.get_by_role("button", name="Send reply").click()
    page.get_by_text("Reply sent to your care team.").wait_for()
    mine = page.locator(".message-item.from-patient")
    assert mine.locator(".body").inner_text() == REPLY
    assert mine.locator("ul.attachments a").all_inner_texts() == [DIARY]


# --- the journeys -------------------------------------------------------------------------


class TestThePatientJourney:
    def test_with_password_and_totp(
        self, page: Any, clinician_page: Any, personas: Any, smtp_server: Any, live_server: Any
    ) -> None:
        _clinician_sends(clinician_page, personas)
        link = _link_in_the_notice(smtp_server, personas, live_server)

        _password_from_the_link(page, link, personas.patient)
        _second_factor_totp(page, personas.patient)
        _patient_reads_and_downloads(page, personas, "totp")
        _patient_replies(page)

        _clinician_sees_the_reply_and_receipts(clinician_page, personas)

    def test_with_password_and_passkey(
        self, page: Any, clinician_page: Any, personas: Any, smtp_server: Any, live_server: Any
    ) -> None:
        virtual_authenticator(page)
        _passkey_registered_then_signed_out(page, personas.patient)
        _clinician_sends(clinician_page, personas)
        link = _link_in_the_notice(smtp_server, personas, live_server)

        _password_from_the_link(page, link, personas.patient)
        _second_factor_passkey(page, personas.patient)
        _patient_reads_and_downloads(page, personas, "passkey")
        _patient_replies(page)

        _clinician_sees_the_reply_and_receipts(clinician_page, personas)
