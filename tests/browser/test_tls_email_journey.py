"""TLS-verified e-mail end to end in Chromium, then the switch to the locked PDF.

The patient chooses secure e-mail under Preferences; a clinician sees the method and
the reason in the composer and sends; the message reaches a STARTTLS server on
loopback (``tls_servers``, certificate from a CA made for the run) that the live
server reaches as its TLS relay (``EMAIL_TLS_RELAY``) and trusts through
``EMAIL_TLS_CA_FILE``. The server records every byte, in clear and inside TLS. Then
the patient sets a document password and chooses the locked PDF, and the next message
arrives as a PDF that opens with that password alone. A relay without STARTTLS, or with
an untrusted certificate, gets nothing of the content: the patient gets the ordinary
notice, the sender reads why on the thread.

Celery runs eagerly, so the e-mail goes in the live server's request, right after the
send commits; the live server runs in this process, so ``settings`` reach it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from django.urls import reverse
from pypdf import PasswordType, PdfReader

from messaging import delivery_settings
from messaging.models import MIB
from tests.browser.helpers import sign_in_with_totp
from tests.conftest import body_text
from tests.messaging.tls_servers import Server, ThrowawayCA, smtp_serve

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCUMENT_PASSWORD = "harbour-turnip-83"
FIRST_SUBJECT = "Your colonoscopy results"
FIRST_BODY = "Two small polyps were removed; both were benign adenomas."
SECOND_SUBJECT = "Your follow-up colonoscopy"
SECOND_BODY = "Please book a repeat colonoscopy in five years."
NOTICE_SUBJECT = "new secure message"
THREAD_URL = re.compile(r"/messages/threads/[^/]+/$")


@pytest.fixture
def ca(tmp_path: Path, settings: Any) -> ThrowawayCA:
    """The live server trusts the run's CA alone, as an operator's internal CA would be."""
    authority = ThrowawayCA()
    path = tmp_path / "ca.pem"
    path.write_bytes(authority.cert.public_bytes(serialization.Encoding.PEM))
    settings.EMAIL_TLS_CA_FILE = str(path)
    return authority


@pytest.fixture
def tls_relay(ca: ThrowawayCA, settings: Any) -> Iterator[Server]:
    with smtp_serve(tls=ca.leaf("localhost").server_context()) as server:
        settings.EMAIL_TLS_RELAY = f"localhost:{server.port}"
        yield server


@pytest.fixture(params=["no_starttls", "untrusted_certificate"])
def unsafe_relay(request: Any, ca: ThrowawayCA, settings: Any) -> Iterator[Server]:
    """A relay that offers no STARTTLS, or one whose certificate comes from a CA the live
    server does not trust: the content must not go to either."""
    stranger = ThrowawayCA()  # not the CA in EMAIL_TLS_CA_FILE
    tls = None if request.param == "no_starttls" else stranger.leaf("localhost").server_context()
    with smtp_serve(tls=tls) as server:
        settings.EMAIL_TLS_RELAY = f"localhost:{server.port}"
        yield server


def _policy(personas: Any) -> None:
    delivery_settings.delivery_policy_update(
        actor=personas.privacy_officer,
        values=delivery_settings.PolicyValues(
            tls_email=True,
            protected_pdf=True,
            plain_email=False,
            email_max_bytes=10 * MIB,
            restricted_categories=frozenset(),
            third_party_tls=False,
        ),
    )


def _choose(page: Any, label: str) -> None:
    """Preferences, "How we send you messages": the patient picks ``label`` and saves."""
    page.goto(reverse("portal:preferences"))
    page.get_by_label(label, exact=True).check()
    page.locator("#delivery").get_by_role("button", name="Save").click()
    page.get_by_text("Saved: how we send you messages.").wait_for()


def _compose(clinician: Any, personas: Any, *, expect: str, subject: str, body: str) -> None:
    """The composer for the patient: the method is shown before anything is typed."""
    clinician.goto(reverse("messaging:compose", args=[personas.patient.pk]))
    clinician.get_by_text(re.compile(expect)).wait_for()
    clinician.get_by_label("Subject", exact=True).fill(subject)
    clinician.get_by_label("Kind of message").select_option(label="Clinical")
    clinician.get_by_label("Message", exact=True).fill(body)
    clinician.get_by_role("button", name="Send securely").click()
    clinician.wait_for_url(THREAD_URL)


def _received(server: Server) -> list[Any]:
    return [message_from_bytes(e.content, policy=policy.default) for e in server.recorder.envelopes]


def test_tls_email_then_the_locked_pdf(
    page: Any, open_page: Any, personas: Any, smtp_server: Any, tls_relay: Server
) -> None:
    _policy(personas)
    sign_in_with_totp(page, personas.patient)
    _choose(page, "Secure e-mail")

    clinician = open_page()
    sign_in_with_totp(clinician, personas.clinician)
    _compose(
        clinician,
        personas,
        expect="Will be delivered by TLS-verified e-mail — the mail server is checked when sending",
        subject=FIRST_SUBJECT,
        body=FIRST_BODY,
    )
    # The sender's thread says how it went.
    clinician.get_by_text(re.compile(r"The message by TLS-verified e-mail: sent")).wait_for()

    # Nothing of the message crossed the wire before STARTTLS; all of it came after.
    recorder = tls_relay.recorder
    assert b"STARTTLS" in recorder.clear
    for secret in (FIRST_SUBJECT, FIRST_BODY, "colonoscopy", "polyps", personas.patient.email):
        assert secret.encode() not in recorder.clear
    assert FIRST_BODY.encode() in recorder.encrypted
    [mail] = _received(tls_relay)
    assert recorder.envelopes[0].rcpt_tos == [personas.patient.email]
    assert FIRST_BODY in body_text(mail) and "colonoscopy" not in str(mail["Subject"]).lower()
    assert smtp_server.messages == []  # the message itself went, so no notice

    # The patient changes their mind: a document password, and the locked PDF.
    page.goto(reverse("portal:document_password"))
    page.get_by_label("New document password").fill(DOCUMENT_PASSWORD)
    page.get_by_label("The same password again").fill(DOCUMENT_PASSWORD)
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved: your document password.").wait_for()
    _choose(page, "E-mail with a locked document")

    _compose(
        clinician,
        personas,
        expect="Will be delivered by password-protected PDF",
        subject=SECOND_SUBJECT,
        body=SECOND_BODY,
    )
    clinician.get_by_text(
        re.compile(r"The message as a password-protected PDF by e-mail: sent")
    ).wait_for()
    assert recorder.accepted == 1  # the TLS relay got nothing more

    [locked] = smtp_server.messages
    assert locked["X-Envelope-To"] == personas.patient.email
    assert "colonoscopy" not in (str(locked["Subject"]) + body_text(locked)).lower()
    [attachment] = list(locked.iter_attachments())
    pdf = bytes(attachment.get_content())
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.is_encrypted and reader.decrypt("not the password") == PasswordType.NOT_DECRYPTED
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.decrypt(DOCUMENT_PASSWORD) != PasswordType.NOT_DECRYPTED
    encrypt: Any = reader.trailer["/Encrypt"]
    assert (encrypt["/V"], encrypt["/R"]) == (5, 6)  # AES-256
    assert encrypt["/CF"]["/StdCF"]["/CFM"] == "/AESV3"
    text = reader.pages[0].extract_text()
    assert SECOND_SUBJECT in text and SECOND_BODY[:20] in text


def test_without_starttls_the_patient_gets_the_notice_and_the_sender_reads_why(
    page: Any, open_page: Any, personas: Any, smtp_server: Any, unsafe_relay: Server
) -> None:
    _policy(personas)
    sign_in_with_totp(page, personas.patient)
    _choose(page, "Secure e-mail")

    clinician = open_page()
    sign_in_with_totp(clinician, personas.clinician)
    _compose(
        clinician,
        personas,
        expect="Will be delivered by TLS-verified e-mail",
        subject=FIRST_SUBJECT,
        body=FIRST_BODY,
    )
    clinician.get_by_text(
        "Sent by portal pickup: the recipient's mail server does not offer verified TLS."
    ).wait_for()
    clinician.get_by_text(re.compile(r"E-mail notice: sent")).wait_for()

    received = bytes(unsafe_relay.recorder.clear + unsafe_relay.recorder.encrypted)
    assert received  # the relay was asked, and failed the TLS rules
    for secret in (FIRST_SUBJECT, FIRST_BODY, "colonoscopy", "polyps", personas.patient.email):
        assert secret.encode() not in received
    assert unsafe_relay.recorder.envelopes == []

    [notice] = smtp_server.messages
    assert NOTICE_SUBJECT in str(notice["Subject"])
    assert "colonoscopy" not in (str(notice["Subject"]) + body_text(notice)).lower()

    # The message waits in the portal.
    page.goto(reverse("portal:inbox"))
    page.get_by_role("link", name=re.compile(FIRST_SUBJECT)).click()
    page.get_by_text(FIRST_BODY).wait_for()
