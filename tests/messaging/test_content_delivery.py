"""The message itself by e-mail, as the delivery decision says at send time, and its log.

Real parts throughout: PostgreSQL, the suite's SMTP server on loopback for notices and
ordinary e-mail, and a STARTTLS server on loopback (``tls_servers``) standing in for the
TLS relay (``EMAIL_TLS_RELAY``), with a certificate from a CA made for the run that the
client trusts through ``EMAIL_TLS_CA_FILE``. The TLS server records every byte it read,
in clear and inside TLS.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from pypdf import PasswordType, PdfReader
from pypdf.errors import FileNotDecryptedError

from audit.models import AuditEvent
from audit.policies import access_history_visible_to
from consent.services import waiver_accept, waiver_revoke, waiver_statement_publish
from messaging import delivery_settings
from messaging.delivery import delivery_send
from messaging.delivery_decision import Recipient, delivery_decide
from messaging.document_passwords import (
    document_password_remove,
    document_password_set,
    one_time_password_issue,
    one_time_password_pending,
)
from messaging.errors import MessagingError
from messaging.models import (
    MIB,
    ContentCategory,
    Delivery,
    DeliveryMethod,
    DeliveryState,
    Transmission,
    TransmissionOutcome,
)
from tests.conftest import body_text
from tests.messaging.factories import PDF_BYTES, message_sent
from tests.messaging.factories import delivery_method_chosen as _choosing
from tests.messaging.tls_servers import Leaf, Server, free_port, smtp_serve

pytestmark = pytest.mark.django_db

SUBJECT = "Melanoma biopsy findings"
BODY = "Your biopsy showed stage II melanoma; we start pembrolizumab on Tuesday."
FILE_NAME = "melanoma-pathology-report.pdf"
NOTICE_SUBJECT = "new secure message"
NO_TLS_REASON = "the recipient's mail server does not offer verified TLS"
NO_TLS_NOTE = "Sent by portal pickup: the recipient&#x27;s mail server does not offer verified TLS"


@pytest.fixture(autouse=True)
def _commit(django_capture_on_commit_callbacks: Any) -> Iterator[None]:
    global _after_commit
    _after_commit = django_capture_on_commit_callbacks
    yield


_after_commit: Any = None


def _sent(personas: Any) -> Delivery:
    """A message with an attachment; its delivery runs after "commit", as in production."""
    with _after_commit(execute=True):
        message = message_sent(
            author=personas.clinician,
            patient=personas.patient,
            subject=SUBJECT,
            body=BODY,
            files=[(FILE_NAME, PDF_BYTES)],
        )
    delivery = Delivery.objects.get(message=message)
    return delivery


def _queued(personas: Any) -> Delivery:
    """A message sent, its delivery not yet worked on (the prompt never ran)."""
    message = message_sent(
        author=personas.clinician, patient=personas.patient, subject=SUBJECT, body=BODY
    )
    return Delivery.objects.get(message=message)


def _waiver(personas: Any) -> None:
    statement = waiver_statement_publish(actor=personas.privacy_officer, text="Risks, v1.")
    waiver_accept(
        actor=personas.patient, patient=personas.patient, statement=statement, method="portal"
    )


def _received(server: Server) -> list[Any]:
    return [message_from_bytes(e.content, policy=policy.default) for e in server.recorder.envelopes]


def _notices(smtp_server: Any) -> list[Any]:
    return [m for m in smtp_server.messages if NOTICE_SUBJECT in str(m["Subject"])]


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


class TestTlsEmail:
    def test_the_content_crosses_the_wire_only_inside_tls(
        self, personas: Any, tls_relay: Server, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        _sent(personas)
        assert BODY.encode() in tls_relay.recorder.encrypted
        for secret in (BODY, SUBJECT, "melanoma", FILE_NAME, personas.patient.email):
            assert secret.encode() not in tls_relay.recorder.clear

    def test_the_patient_gets_body_and_attachment_and_no_notice(
        self, personas: Any, tls_relay: Server, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        _sent(personas)
        [mail] = _received(tls_relay)
        assert tls_relay.recorder.envelopes[0].rcpt_tos == [personas.patient.email]
        assert BODY in body_text(mail) and SUBJECT not in str(mail["Subject"])
        [attachment] = list(mail.iter_attachments())
        assert (attachment.get_filename(), attachment.get_content()) == (FILE_NAME, PDF_BYTES)
        assert smtp_server.messages == []

    def test_the_log_keeps_what_protected_it(
        self, personas: Any, tls_relay: Server, leaf: Leaf, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        delivery = _sent(personas)
        [log] = Transmission.objects.all()
        assert (log.delivery_id, log.method, log.outcome) == (
            delivery.pk,
            DeliveryMethod.TLS_EMAIL,
            TransmissionOutcome.SENT,
        )
        assert log.tls_version in ("TLSv1.2", "TLSv1.3") and log.cipher
        assert log.certificate_sha256 == hashlib.sha256(leaf.der).hexdigest()
        assert (log.mx_host, log.via_relay) == ("localhost", True)

    def test_the_delivery_is_sent_and_audited_once(
        self, personas: Any, tls_relay: Server, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        delivery = _sent(personas)
        assert delivery_send(delivery_id=delivery.pk) == "not_due"
        delivery.refresh_from_db()
        assert (delivery.state, delivery.method) == (DeliveryState.SENT, DeliveryMethod.TLS_EMAIL)
        assert tls_relay.recorder.accepted == 1
        [event] = _events("messaging.content_emailed")
        assert event.target_id == str(delivery.pk)

    def test_the_sender_sees_it_went_by_tls_email(
        self, personas: Any, tls_relay: Server, smtp_server: Any, client_for: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        delivery = _sent(personas)
        url = reverse("messaging:thread", args=[delivery.message.thread_id])
        page = client_for(personas.clinician).get(url).content.decode()
        assert "The message by TLS-verified e-mail: sent" in page
        assert "Sent by portal pickup" not in page

    def test_the_patient_sees_who_emailed_it(
        self, personas: Any, tls_relay: Server, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        _sent(personas)
        shown = access_history_visible_to(personas.patient).filter(
            action="messaging.content_emailed"
        )
        assert [e.actor_id for e in shown] == [personas.clinician.pk]

    def test_a_temporary_refusal_is_tried_again(
        self, personas: Any, tls_relay: Server, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        tls_relay.recorder.rcpt_reply = "451 4.3.0 Try again later"
        delivery = _sent(personas)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.failure) == (DeliveryState.PENDING, "smtp_451")
        assert Transmission.objects.get().outcome == TransmissionOutcome.RETRY
        assert smtp_server.messages == []

    def test_a_permanent_refusal_fails_like_a_notice(
        self, personas: Any, tls_relay: Server, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        tls_relay.recorder.rcpt_reply = "550 5.1.1 No such mailbox"
        delivery = _sent(personas)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.failure) == (DeliveryState.FAILED, "smtp_550")
        assert Transmission.objects.get().outcome == TransmissionOutcome.FAILED


class TestNoVerifiedTls:
    def test_the_notice_goes_instead_and_nothing_of_the_content(
        self, personas: Any, clear_relay: Server, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        _sent(personas)
        assert len(_notices(smtp_server)) == 1
        received = bytes(clear_relay.recorder.clear + clear_relay.recorder.encrypted)
        for secret in (BODY, SUBJECT, "melanoma", FILE_NAME, personas.patient.email):
            assert secret.encode() not in received
        assert clear_relay.recorder.envelopes == []

    def test_the_log_says_it_fell_back(
        self, personas: Any, clear_relay: Server, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        _sent(personas)
        [log] = Transmission.objects.all()
        assert (log.wanted, log.method) == (DeliveryMethod.TLS_EMAIL, DeliveryMethod.TLS_EMAIL)
        assert (log.outcome, log.code) == (TransmissionOutcome.FELL_BACK, "tls_no_starttls")
        assert log.tls_version == log.certificate_sha256 == ""

    def test_the_sender_sees_a_note_on_the_thread(
        self, personas: Any, clear_relay: Server, smtp_server: Any, client_for: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        delivery = _sent(personas)
        url = reverse("messaging:thread", args=[delivery.message.thread_id])
        page = client_for(personas.clinician).get(url).content.decode()
        assert NO_TLS_NOTE in page


class TestRestrictedContent:
    @pytest.fixture
    def restricting(self, personas: Any) -> None:
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        delivery_settings.delivery_policy_update(
            actor=personas.privacy_officer,
            values=delivery_settings.PolicyValues(
                tls_email=True,
                protected_pdf=True,
                plain_email=True,
                email_max_bytes=10 * MIB,
                restricted_categories=frozenset({ContentCategory.PSYCHOTHERAPY_NOTES}),
                third_party_tls=False,
            ),
        )

    def _marked(self, personas: Any, *kinds: str) -> Delivery:
        with _after_commit(execute=True):
            message = message_sent(
                author=personas.clinician,
                patient=personas.patient,
                subject=SUBJECT,
                body=BODY,
                content_categories=kinds,
            )
        return Delivery.objects.get(message=message)

    def test_a_restricted_kind_goes_by_portal_and_the_sender_reads_why(
        self,
        personas: Any,
        restricting: None,
        tls_relay: Server,
        smtp_server: Any,
        client_for: Any,
    ) -> None:
        delivery = self._marked(personas, ContentCategory.PSYCHOTHERAPY_NOTES)
        assert tls_relay.recorder.envelopes == [] and len(_notices(smtp_server)) == 1
        [log] = Transmission.objects.all()
        assert (log.method, log.outcome, log.code) == (
            DeliveryMethod.PORTAL,
            TransmissionOutcome.FELL_BACK,
            "decided",
        )
        url = reverse("messaging:thread", args=[delivery.message.thread_id])
        page = client_for(personas.clinician).get(url).content.decode()
        assert "includes psychotherapy notes, which never leave by e-mail" in page

    def test_a_kind_the_policy_does_not_restrict_still_goes_by_email(
        self, personas: Any, restricting: None, tls_relay: Server, smtp_server: Any
    ) -> None:
        self._marked(personas, ContentCategory.GENETIC)
        assert len(tls_relay.recorder.envelopes) == 1 and _notices(smtp_server) == []

    def test_the_marking_is_sealed_with_the_message(
        self, personas: Any, restricting: None, tls_relay: Server, smtp_server: Any
    ) -> None:
        delivery = self._marked(personas, ContentCategory.PSYCHOTHERAPY_NOTES)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT content_categories::text FROM messaging_message WHERE id = %s",
                [delivery.message_id],
            )
            [stored] = cursor.fetchone()
        assert "psychotherapy" not in stored

    def test_an_unknown_kind_is_refused_and_nothing_is_sent(self, personas: Any) -> None:
        with pytest.raises(MessagingError, match="from the list"):
            message_sent(
                author=personas.clinician, patient=personas.patient, content_categories=("x",)
            )
        assert not Delivery.objects.exists()


class TestTlsRelayDown:
    @pytest.fixture
    def relay_down(self, trusted: None, settings: Any) -> None:
        settings.EMAIL_TLS_RELAY = f"localhost:{free_port()}"  # nothing listens there

    def test_an_unreachable_server_is_tried_again(
        self, personas: Any, relay_down: None, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        delivery = _sent(personas)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.failure) == (DeliveryState.PENDING, "tls_unreachable")
        assert smtp_server.messages == []

    def test_the_last_attempt_falls_back_to_the_notice(
        self, personas: Any, relay_down: None, smtp_server: Any, settings: Any
    ) -> None:
        settings.MESSAGING_NOTICE_MAX_ATTEMPTS = 1
        _choosing(personas, DeliveryMethod.TLS_EMAIL)
        delivery = _sent(personas)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.fallback_reason) == (DeliveryState.SENT, NO_TLS_REASON)
        assert len(_notices(smtp_server)) == 1


class TestOrdinaryEmail:
    def test_the_content_goes_through_the_relay_under_the_waiver(
        self, personas: Any, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.PLAIN_EMAIL)
        _waiver(personas)
        _sent(personas)
        [mail] = smtp_server.messages
        assert mail["X-Envelope-To"] == personas.patient.email
        assert BODY in body_text(mail) and NOTICE_SUBJECT not in str(mail["Subject"])

    def test_the_log_keeps_the_statement_version(self, personas: Any, smtp_server: Any) -> None:
        _choosing(personas, DeliveryMethod.PLAIN_EMAIL)
        _waiver(personas)
        _sent(personas)
        [log] = Transmission.objects.all()
        assert (log.method, log.outcome) == (DeliveryMethod.PLAIN_EMAIL, TransmissionOutcome.SENT)
        assert log.statement_version == 1

    def test_a_waiver_revoked_after_queueing_sends_the_notice(
        self, personas: Any, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.PLAIN_EMAIL)
        _waiver(personas)
        delivery = _queued(personas)
        waiver_revoke(actor=personas.patient, patient=personas.patient)
        assert delivery_send(delivery_id=delivery.pk) == "sent"
        [mail] = smtp_server.messages
        assert NOTICE_SUBJECT in str(mail["Subject"]) and "melanoma" not in body_text(mail)
        log = Transmission.objects.get()
        assert (log.method, log.outcome) == (DeliveryMethod.PORTAL, TransmissionOutcome.FELL_BACK)
        assert log.reason == "the patient stopped ordinary e-mail"

    def test_a_third_party_never_gets_ordinary_email(self, personas: Any) -> None:
        _choosing(personas, DeliveryMethod.PLAIN_EMAIL)
        _waiver(personas)
        inputs = delivery_settings.delivery_inputs_for(
            patient=personas.patient, recipient=Recipient.THIRD_PARTY
        )
        assert delivery_decide(inputs).method == DeliveryMethod.PORTAL


class TestPortal:
    def test_the_patients_choice_is_exactly_todays_notice(
        self, personas: Any, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.PORTAL)
        _waiver(personas)
        delivery = _sent(personas)
        [mail] = smtp_server.messages
        assert NOTICE_SUBJECT in str(mail["Subject"]) and "melanoma" not in body_text(mail)
        assert not Transmission.objects.exists()
        delivery.refresh_from_db()
        assert (delivery.method, delivery.fallback_reason) == (DeliveryMethod.PORTAL, "")


DOCUMENT_PASSWORD = "correct-horse-battery-staple"
NOTE_NAME = "melanoma-notes.txt"
NOTE = "Sentinel node negative; margins clear."
LOCKED_TEXT = "Your secure message is attached as a locked PDF."


class TestLockedPdf:
    @pytest.fixture
    def locked(self, personas: Any, smtp_server: Any) -> None:
        """The patient chose the locked PDF and set their document password."""
        _choosing(personas, DeliveryMethod.PROTECTED_PDF)
        document_password_set(
            actor=personas.patient, patient=personas.patient, password=DOCUMENT_PASSWORD
        )

    def _locked_sent(self, personas: Any) -> Delivery:
        with _after_commit(execute=True):
            message = message_sent(
                author=personas.clinician,
                patient=personas.patient,
                subject=SUBJECT,
                body=BODY,
                files=[(FILE_NAME, PDF_BYTES), (NOTE_NAME, NOTE.encode())],
            )
        return Delivery.objects.get(message=message)

    @staticmethod
    def _pdf(mail: Any) -> bytes:
        [attachment] = list(mail.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        return bytes(attachment.get_content())

    @staticmethod
    def _opened(pdf: bytes, password: str) -> str:
        reader = PdfReader(io.BytesIO(pdf))
        assert reader.decrypt(password) != PasswordType.NOT_DECRYPTED
        return "\n".join(page.extract_text() for page in reader.pages)

    def test_the_patient_gets_a_pdf_that_opens_with_their_password(
        self, personas: Any, locked: None, smtp_server: Any
    ) -> None:
        self._locked_sent(personas)
        [mail] = smtp_server.messages
        assert mail["X-Envelope-To"] == personas.patient.email
        reader = PdfReader(io.BytesIO(self._pdf(mail)))
        assert reader.decrypt(DOCUMENT_PASSWORD) != PasswordType.NOT_DECRYPTED
        first_page = reader.pages[0].extract_text()
        assert SUBJECT in first_page and "stage II melanoma" in first_page

    def test_the_pdf_shows_nothing_without_the_password(
        self, personas: Any, locked: None, smtp_server: Any
    ) -> None:
        self._locked_sent(personas)
        [mail] = smtp_server.messages
        reader = PdfReader(io.BytesIO(self._pdf(mail)))
        assert reader.is_encrypted
        with pytest.raises(FileNotDecryptedError):
            reader.pages[0].extract_text()
        assert reader.decrypt("wrong password!") == PasswordType.NOT_DECRYPTED

    def test_the_attachments_are_inside_the_pdf(
        self, personas: Any, locked: None, smtp_server: Any
    ) -> None:
        self._locked_sent(personas)
        [mail] = smtp_server.messages
        text = self._opened(self._pdf(mail), DOCUMENT_PASSWORD)
        assert NOTE in text and FILE_NAME in text

    def test_the_email_says_nothing_of_the_content(
        self, personas: Any, locked: None, smtp_server: Any
    ) -> None:
        self._locked_sent(personas)
        [mail] = smtp_server.messages
        shown = str(mail["Subject"]) + body_text(mail)
        assert LOCKED_TEXT in body_text(mail) and "you set in the portal" in body_text(mail)
        for secret in (SUBJECT, "melanoma", "biopsy", NOTE, FILE_NAME, NOTE_NAME):
            assert secret.lower() not in shown.lower()
        assert "melanoma" not in (mail.get_filename() or "")

    def test_the_password_is_nowhere_but_in_the_patients_head(
        self, personas: Any, locked: None, smtp_server: Any, caplog: Any
    ) -> None:
        caplog.set_level(logging.DEBUG)
        self._locked_sent(personas)
        [mail] = smtp_server.messages
        assert DOCUMENT_PASSWORD.encode() not in mail.as_bytes()
        assert DOCUMENT_PASSWORD not in caplog.text
        for event in AuditEvent.objects.all():
            assert DOCUMENT_PASSWORD not in str(event.details)
        for log in Transmission.objects.values():
            assert DOCUMENT_PASSWORD not in str(log)

    def test_it_is_logged_sent_and_audited_once(
        self, personas: Any, locked: None, smtp_server: Any
    ) -> None:
        delivery = self._locked_sent(personas)
        [log] = Transmission.objects.all()
        assert (log.method, log.outcome, log.code) == (
            DeliveryMethod.PROTECTED_PDF,
            TransmissionOutcome.SENT,
            "document_password",
        )
        assert delivery_send(delivery_id=delivery.pk) == "not_due"
        delivery.refresh_from_db()
        assert (delivery.state, delivery.method) == (
            DeliveryState.SENT,
            DeliveryMethod.PROTECTED_PDF,
        )
        [event] = _events("messaging.content_emailed")
        assert event.details["method"] == DeliveryMethod.PROTECTED_PDF
        assert len(smtp_server.messages) == 1

    def test_the_sender_sees_it_went_as_a_locked_pdf(
        self, personas: Any, locked: None, smtp_server: Any, client_for: Any
    ) -> None:
        # The thread named only TLS and ordinary e-mail: a locked PDF read "E-mail notice".
        delivery = self._locked_sent(personas)
        url = reverse("messaging:thread", args=[delivery.message.thread_id])
        page = client_for(personas.clinician).get(url).content.decode()
        assert "The message as a password-protected PDF by e-mail: sent" in page
        assert "E-mail notice:" not in page

    def test_a_password_removed_after_queueing_sends_the_notice(
        self, personas: Any, locked: None, smtp_server: Any
    ) -> None:
        delivery = _queued(personas)
        document_password_remove(actor=personas.patient, patient=personas.patient)
        assert delivery_send(delivery_id=delivery.pk) == "sent"
        [mail] = smtp_server.messages
        assert NOTICE_SUBJECT in str(mail["Subject"]) and not list(mail.iter_attachments())
        log = Transmission.objects.get()
        assert (log.method, log.outcome) == (DeliveryMethod.PORTAL, TransmissionOutcome.FELL_BACK)

    def test_a_staff_one_time_password_is_used_once_and_opens_it(
        self, personas: Any, locked: None, smtp_server: Any
    ) -> None:
        delivery = _queued(personas)
        password = one_time_password_issue(actor=personas.clinician, message_id=delivery.message_id)
        assert delivery_send(delivery_id=delivery.pk) == "sent"
        [mail] = smtp_server.messages
        assert SUBJECT in self._opened(self._pdf(mail), password)
        assert "told you by phone" in body_text(mail)
        assert not one_time_password_pending(delivery.message_id)
        assert Transmission.objects.get().code == "one_time_password"

    def test_a_one_time_password_alone_is_a_password_source(
        self, personas: Any, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.PROTECTED_PDF)
        delivery = _queued(personas)
        password = one_time_password_issue(actor=personas.clinician, message_id=delivery.message_id)
        delivery_send(delivery_id=delivery.pk)
        [mail] = smtp_server.messages
        assert SUBJECT in self._opened(self._pdf(mail), password)

    def test_a_temporary_refusal_keeps_the_one_time_password_for_the_retry(
        self, personas: Any, smtp_server: Any, settings: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.PROTECTED_PDF)
        delivery = _queued(personas)
        one_time_password_issue(actor=personas.clinician, message_id=delivery.message_id)
        settings.EMAIL_PORT = free_port()  # the relay is down
        delivery_send(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.failure) == (DeliveryState.PENDING, "connection")
        assert one_time_password_pending(delivery.message_id)
        assert Transmission.objects.get().outcome == TransmissionOutcome.RETRY

    def test_without_any_password_the_notice_goes(self, personas: Any, smtp_server: Any) -> None:
        _choosing(personas, DeliveryMethod.PROTECTED_PDF)
        _sent(personas)
        assert len(_notices(smtp_server)) == 1
        log = Transmission.objects.get()
        assert (log.method, log.outcome) == (DeliveryMethod.PORTAL, TransmissionOutcome.FELL_BACK)


SPOKEN = re.compile(r"\b[2-9A-HJ-NP-Z]{4}(?:-[2-9A-HJ-NP-Z]{4}){3}\b")


class TestStaffOneTimePassword:
    """The patient chose the locked PDF and set no document password: the composer gives
    the sender a one-time password, once, in the response to the send."""

    @staticmethod
    def _post(client: Any, personas: Any, send_key: str) -> Any:
        data = {
            "send_key": send_key,
            "subject": SUBJECT,
            "category": "clinical",
            "body": BODY,
            "send": "1",
        }
        url = reverse("messaging:compose", args=[personas.patient.pk])
        with _after_commit(execute=True):
            return client.post(url, data)

    def test_the_composer_says_a_password_will_be_given(
        self, personas: Any, client_for: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.PROTECTED_PDF)
        url = reverse("messaging:compose", args=[personas.patient.pk])
        page = client_for(personas.clinician).get(url).content.decode()
        assert 'id="one-time-password-note"' in page and "password-protected PDF" in page

    def test_the_password_is_shown_once_and_opens_the_pdf(
        self, personas: Any, client_for: Any, smtp_server: Any, caplog: Any
    ) -> None:
        caplog.set_level(logging.DEBUG)
        _choosing(personas, DeliveryMethod.PROTECTED_PDF)
        client = client_for(personas.clinician)
        response = self._post(client, personas, send_key=str(uuid.uuid4()))
        assert response.status_code == 200 and "Location" not in response
        page = response.content.decode()
        assert "Tell the patient this password by phone" in page
        [password] = SPOKEN.findall(page)
        [mail] = smtp_server.messages
        assert SUBJECT in TestLockedPdf._opened(TestLockedPdf._pdf(mail), password)
        assert password not in caplog.text
        assert password not in str(dict(client.session.items()))
        for event in AuditEvent.objects.all():
            assert password not in str(event.details)

    def test_a_reload_sends_nothing_and_shows_no_password(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.PROTECTED_PDF)
        client = client_for(personas.clinician)
        send_key = str(uuid.uuid4())
        self._post(client, personas, send_key)
        again = self._post(client, personas, send_key)
        assert again.status_code == 302
        assert len(smtp_server.messages) == 1
        assert len(_events("messaging.one_time_password_issued")) == 1

    def test_with_a_document_password_no_one_time_password_is_given(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        _choosing(personas, DeliveryMethod.PROTECTED_PDF)
        document_password_set(
            actor=personas.patient, patient=personas.patient, password=DOCUMENT_PASSWORD
        )
        response = self._post(client_for(personas.clinician), personas, str(uuid.uuid4()))
        assert response.status_code == 302
        assert not _events("messaging.one_time_password_issued")
        [mail] = smtp_server.messages
        assert SUBJECT in TestLockedPdf._opened(TestLockedPdf._pdf(mail), DOCUMENT_PASSWORD)


class TestLockedPdfRefusedOrTranslated:
    @pytest.fixture
    def locked(self, personas: Any) -> None:
        _choosing(personas, DeliveryMethod.PROTECTED_PDF)
        document_password_set(
            actor=personas.patient, patient=personas.patient, password=DOCUMENT_PASSWORD
        )

    def test_a_permanent_refusal_fails_like_a_notice(
        self, personas: Any, locked: None, settings: Any
    ) -> None:
        with smtp_serve(tls=None) as relay:
            relay.recorder.rcpt_reply = "550 5.1.1 No such mailbox"
            settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
            settings.EMAIL_HOST, settings.EMAIL_PORT = "localhost", relay.port
            settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
            delivery = _sent(personas)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.failure) == (DeliveryState.FAILED, "smtp_550")
        log = Transmission.objects.get()
        assert (log.method, log.outcome) == (
            DeliveryMethod.PROTECTED_PDF,
            TransmissionOutcome.FAILED,
        )

    def test_a_spanish_speaking_patient_gets_it_in_spanish(
        self, personas: Any, locked: None, smtp_server: Any
    ) -> None:
        personas.patient.language = "es"
        personas.patient.save(update_fields=["language"])
        _sent(personas)
        [mail] = smtp_server.messages
        assert "Su mensaje seguro va adjunto como un PDF bloqueado." in body_text(mail)
        [attachment] = list(mail.iter_attachments())
        assert attachment.get_filename() == "mensaje-seguro.pdf"
