"""The locked PDF end to end in Chromium: the patient chooses a document password and the
locked PDF under Preferences, a clinician sends, and the loopback SMTP server receives a
PDF that opens with the patient's password and with nothing else.

Celery runs eagerly, so the e-mail goes in the live server's request, right after the
send commits.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.urls import reverse
from pypdf import PasswordType, PdfReader

from messaging.models import DeliveryMethod
from tests.browser.helpers import sign_in_with_totp
from tests.conftest import body_text
from tests.messaging.factories import delivery_method_chosen, delivery_policy_saved, message_sent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCUMENT_PASSWORD = "lighthouse-parsnip-47"
SUBJECT = "Your thyroid scan results"
BODY = "The scan shows a small benign nodule; no treatment is needed."
THREAD_URL = re.compile(r"/messages/threads/[^/]+/$")


def _policy(personas: Any) -> None:
    delivery_policy_saved(personas, tls_email=False, plain_email=False)


def test_the_patient_gets_a_locked_pdf_that_opens_with_their_password(
    page: Any, open_page: Any, personas: Any, smtp_server: Any
) -> None:
    _policy(personas)
    sign_in_with_totp(page, personas.patient)
    page.goto(reverse("portal:document_password"))
    page.get_by_label("New document password").fill(DOCUMENT_PASSWORD)
    page.get_by_label("The same password again").fill(DOCUMENT_PASSWORD)
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved: your document password.").wait_for()
    page.goto(reverse("portal:preferences"))
    page.get_by_label("E-mail with a locked document").check()
    page.locator("#delivery").get_by_role("button", name="Save").click()
    page.get_by_text("Saved: how we send you messages.").wait_for()

    clinician = open_page()
    sign_in_with_totp(clinician, personas.clinician)
    clinician.goto(reverse("messaging:compose", args=[personas.patient.pk]))
    clinician.get_by_text(re.compile("Will be delivered by password-protected PDF")).wait_for()
    clinician.get_by_label("Subject", exact=True).fill(SUBJECT)
    clinician.get_by_label("Kind of message").select_option(label="Clinical")
    clinician.get_by_label("Message", exact=True).fill(BODY)
    clinician.get_by_role("button", name="Send securely").click()
    clinician.wait_for_url(THREAD_URL)

    [mail] = smtp_server.messages
    assert mail["X-Envelope-To"] == personas.patient.email
    assert "thyroid" not in (str(mail["Subject"]) + body_text(mail)).lower()
    [attachment] = list(mail.iter_attachments())
    reader = PdfReader(io.BytesIO(bytes(attachment.get_content())))
    assert reader.is_encrypted and reader.decrypt("not the password") == PasswordType.NOT_DECRYPTED
    reader = PdfReader(io.BytesIO(bytes(attachment.get_content())))
    assert reader.decrypt(DOCUMENT_PASSWORD) != PasswordType.NOT_DECRYPTED
    assert SUBJECT in reader.pages[0].extract_text()


def test_a_reply_gives_the_clinician_a_one_time_password_that_opens_the_pdf(
    page: Any, personas: Any, smtp_server: Any
) -> None:
    """The patient chose the locked PDF and set no password: the clinician's reply from the
    thread page says so, and its answer shows the password to read out, once."""
    started = message_sent(author=personas.clinician, patient=personas.patient, subject=SUBJECT)
    delivery_method_chosen(personas, DeliveryMethod.PROTECTED_PDF)
    sign_in_with_totp(page, personas.clinician)
    page.goto(reverse("messaging:thread", args=[started.thread_id]))
    page.get_by_text(re.compile("with a one-time password you will read to the patient")).wait_for()
    page.get_by_label("Message", exact=True).fill(BODY)
    page.get_by_role("button", name="Send reply").click()
    page.get_by_text("Tell the patient this password by phone").wait_for()
    password = page.locator(".one-time-password").inner_text()
    assert password not in page.url

    notice, mail = smtp_server.messages  # the first message's notice, then the reply's PDF
    assert not list(notice.iter_attachments())
    [attachment] = list(mail.iter_attachments())
    reader = PdfReader(io.BytesIO(bytes(attachment.get_content())))
    assert reader.decrypt(password) != PasswordType.NOT_DECRYPTED
    assert BODY in "\n".join(p.extract_text() for p in reader.pages)
