"""The staff one-time password beyond the composer: a reply from the thread page issues it
as the composer does, the patient page names the same method as the composer, and a
password left unused when the delivery settles another way is discarded for good.

Real parts: PostgreSQL and the suite's SMTP server on loopback; the delivery runs after
"commit" (``django_capture_on_commit_callbacks``) as it does in production.
"""

from __future__ import annotations

import io
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse
from pypdf import PasswordType, PdfReader

from audit.models import AuditEvent
from consent.services import preferences_update
from messaging import services
from messaging.content_delivery import content_deliver
from messaging.delivery import delivery_send
from messaging.document_passwords import (
    document_password_set,
    one_time_password_issue,
    one_time_password_pending,
)
from messaging.models import Delivery, DeliveryMethod, DeliveryState, OneTimePassword, Thread
from tests.messaging.factories import (
    delivery_method_chosen,
    delivery_policy_saved,
    message_sent,
)
from tests.messaging.tls_servers import free_port

pytestmark = pytest.mark.django_db

SUBJECT = "Melanoma biopsy findings"
BODY = "Your biopsy showed stage II melanoma; we start pembrolizumab on Tuesday."
DOCUMENT_PASSWORD = "correct-horse-battery-staple"
SPOKEN = re.compile(r"\b[2-9A-HJ-NP-Z]{4}(?:-[2-9A-HJ-NP-Z]{4}){3}\b")
WITH_ONE_TIME_PASSWORD = (
    "password-protected PDF by e-mail (with a one-time password you will read to the patient)"
)
CHOICE = re.compile(r"Will be delivered by <strong>(.*?)</strong> — ([^<]*)<")
ISSUED = "messaging.one_time_password_issued"
DISCARDED = "messaging.one_time_password_discarded"


def _pdf_text(mail: Any, password: str) -> str:
    [attachment] = list(mail.iter_attachments())
    reader = PdfReader(io.BytesIO(bytes(attachment.get_content())))
    assert reader.decrypt(password) != PasswordType.NOT_DECRYPTED
    return "\n".join(page.extract_text() for page in reader.pages)


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


@pytest.fixture
def thread(personas: Any) -> Thread:
    """A conversation started before the patient chose the locked PDF (no password set)."""
    started = message_sent(author=personas.clinician, patient=personas.patient, subject=SUBJECT)
    delivery_method_chosen(personas, DeliveryMethod.PROTECTED_PDF)
    return started.thread


@dataclass(frozen=True)
class Replier:
    """The clinician replying on the thread page; the delivery runs after "commit"."""

    client: Any
    thread: Thread
    on_commit: Any

    def __call__(self, send_key: str = "", **files: Any) -> Any:
        url = reverse("messaging:thread_reply", args=[self.thread.pk])
        data = {"send_key": send_key or str(uuid.uuid4()), "body": BODY, **files}
        with self.on_commit(execute=True):
            return self.client.post(url, data)


@pytest.fixture
def reply(
    personas: Any, client_for: Any, thread: Thread, django_capture_on_commit_callbacks: Any
) -> Replier:
    return Replier(client_for(personas.clinician), thread, django_capture_on_commit_callbacks)


class TestThreadReply:
    def test_the_reply_form_says_how_it_will_be_delivered(self, reply: Replier) -> None:
        url = reverse("messaging:thread", args=[reply.thread.pk])
        page = reply.client.get(url).content.decode()
        assert f"Will be delivered by <strong>{WITH_ONE_TIME_PASSWORD}</strong>" in page
        assert 'id="one-time-password-note"' in page

    def test_the_password_is_shown_once_and_opens_the_pdf(
        self, reply: Replier, smtp_server: Any, caplog: Any
    ) -> None:
        caplog.set_level(logging.DEBUG)
        response = reply()
        assert response.status_code == 200 and "Location" not in response
        page = response.content.decode()
        assert "Tell the patient this password by phone" in page
        [password] = SPOKEN.findall(page)
        [mail] = smtp_server.messages
        assert BODY in _pdf_text(mail, password)
        assert password not in caplog.text
        assert password not in str(dict(reply.client.session.items()))
        for event in AuditEvent.objects.all():
            assert password not in str(event.details)

    def test_a_reload_sends_nothing_and_shows_no_password(
        self, reply: Replier, smtp_server: Any
    ) -> None:
        key = str(uuid.uuid4())
        [password] = SPOKEN.findall(reply(key).content.decode())
        again = reply(key)
        assert again.status_code == 302
        assert not SPOKEN.findall(reply.client.get(again["Location"]).content.decode())
        assert len(smtp_server.messages) == 1 and len(_events(ISSUED)) == 1
        assert BODY in _pdf_text(smtp_server.messages[0], password)

    def test_with_a_document_password_the_reply_gets_none(
        self, personas: Any, reply: Replier, smtp_server: Any
    ) -> None:
        document_password_set(
            actor=personas.patient, patient=personas.patient, password=DOCUMENT_PASSWORD
        )
        assert reply().status_code == 302 and not _events(ISSUED)
        [mail] = smtp_server.messages
        assert BODY in _pdf_text(mail, DOCUMENT_PASSWORD)

    def test_an_attachment_over_the_email_limit_gets_no_password(
        self, personas: Any, reply: Replier, smtp_server: Any
    ) -> None:
        delivery_policy_saved(personas, max_mib=1)
        notes = io.BytesIO(b"Sentinel node negative.\n" * 50_000)  # about 1.1 MiB
        notes.name = "notes.txt"
        assert reply(attachments=notes).status_code == 302 and not _events(ISSUED)
        [mail] = smtp_server.messages
        assert not list(mail.iter_attachments())  # the notice: portal pickup

    def test_a_postal_only_patients_reply_gets_no_password(
        self, personas: Any, reply: Replier, smtp_server: Any
    ) -> None:
        preferences_update(
            actor=personas.patient,
            patient=personas.patient,
            postal_only=True,
            postal_address="4 Elm Street\nSpringfield 01101",
        )
        assert reply().status_code == 302 and not _events(ISSUED)
        assert not OneTimePassword.objects.exists()


class TestPatientPageAgreesWithTheComposer:
    @pytest.mark.parametrize("method", list(DeliveryMethod))
    def test_both_name_the_same_method_and_reason(
        self, personas: Any, client_for: Any, method: str
    ) -> None:
        delivery_method_chosen(personas, method)
        client = client_for(personas.clinician)
        composer = client.get(reverse("messaging:compose", args=[personas.patient.pk]))
        page = client.get(reverse("directory:patient", args=[personas.patient.pk]))
        [shown] = CHOICE.findall(composer.content.decode())
        assert CHOICE.findall(page.content.decode()) == [shown]
        if method == DeliveryMethod.PROTECTED_PDF:  # no document password set
            assert shown[0] == WITH_ONE_TIME_PASSWORD


class TestUnusedPasswordDiscarded:
    @pytest.fixture
    def queued(self, personas: Any) -> Delivery:
        """A message sent with a one-time password; its delivery not worked on yet."""
        delivery_method_chosen(personas, DeliveryMethod.PROTECTED_PDF)
        message = message_sent(
            author=personas.clinician, patient=personas.patient, subject=SUBJECT, body=BODY
        )
        one_time_password_issue(actor=personas.clinician, message_id=message.pk)
        return Delivery.objects.get(message=message)

    def test_a_fallback_to_the_portal_discards_it(
        self, personas: Any, queued: Delivery, smtp_server: Any
    ) -> None:
        delivery_policy_saved(personas, protected_pdf=False)
        assert delivery_send(delivery_id=queued.pk) == "sent"  # the notice
        assert not one_time_password_pending(queued.message_id)
        [event] = _events(DISCARDED)
        assert (event.patient_id, event.details["reason"]) == (personas.patient.pk, "portal")

    def test_a_discarded_password_never_locks_a_later_pdf(
        self, personas: Any, queued: Delivery, smtp_server: Any
    ) -> None:
        delivery_policy_saved(personas, protected_pdf=False)
        delivery_send(delivery_id=queued.pk)
        delivery_policy_saved(personas)  # switched back before a resend
        assert content_deliver(queued).step == "portal"
        assert not any(list(m.iter_attachments()) for m in smtp_server.messages)
        assert not _events("messaging.one_time_password_used")

    def test_a_message_recalled_before_sending_discards_it(
        self, personas: Any, queued: Delivery, smtp_server: Any
    ) -> None:
        services.message_recall(actor=personas.clinician, message=queued.message)
        delivery_send(delivery_id=queued.pk)
        assert not one_time_password_pending(queued.message_id)
        assert len(_events(DISCARDED)) == 1

    def test_attempts_used_up_discard_it(
        self, personas: Any, queued: Delivery, smtp_server: Any, settings: Any
    ) -> None:
        settings.EMAIL_PORT = free_port()  # the relay is down
        settings.MESSAGING_NOTICE_MAX_ATTEMPTS = 1
        assert delivery_send(delivery_id=queued.pk) == "failed"
        queued.refresh_from_db()
        assert (queued.state, queued.failure) == (DeliveryState.FAILED, "gave_up")
        assert not one_time_password_pending(queued.message_id)
        assert _events(DISCARDED)[0].details["reason"] == "failed"

    def test_a_password_used_for_the_pdf_is_not_discarded(
        self, personas: Any, queued: Delivery, smtp_server: Any
    ) -> None:
        assert delivery_send(delivery_id=queued.pk) == "sent"
        assert len(_events("messaging.one_time_password_used")) == 1
        assert not _events(DISCARDED)
