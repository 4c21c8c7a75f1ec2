"""The "you have a secure message" notice: what it says, and that it is never lost.

Everything here goes through a real SMTP server on loopback (refusing or stalling on
cue), the real database and, for the killed worker, a real Celery worker fed by Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AuditEvent
from messaging.delivery import _claim, deliveries_sweep, delivery_send
from messaging.models import Delivery, DeliveryState, MessageState
from tests.conftest import body_text
from tests.messaging.conftest import ScriptedMailbox, celery_configured, free_port
from tests.messaging.factories import PDF_BYTES, message_sent

pytestmark = pytest.mark.django_db

SUBJECT = "Melanoma biopsy findings"
BODY = "Your biopsy showed stage II melanoma; we start pembrolizumab on Tuesday."
FILE_NAME = "melanoma-pathology-report.pdf"
NOTICE_SUBJECT = "new secure message"
SECRET = "bounce-webhook-test-secret-5f2b9c"


@pytest.fixture(autouse=True)
def _commit(django_capture_on_commit_callbacks: Any) -> Any:
    """The suite's transaction never commits: tests run on-commit work where they mean it."""
    global _after_commit
    _after_commit = django_capture_on_commit_callbacks
    yield


_after_commit: Any = None


def _sent(personas: Any, **extra: Any) -> Delivery:
    """A message sent as the clinician; its notice goes out after "commit", as in production."""
    with _after_commit(execute=True):
        message = message_sent(author=personas.clinician, patient=personas.patient, **extra)
    return Delivery.objects.get(message=message)


def _unsent(personas: Any) -> Delivery:
    """A message sent, its notice not yet prompted (the on-commit prompt never runs)."""
    message = message_sent(author=personas.clinician, patient=personas.patient)
    return Delivery.objects.get(message=message)


def _sweep() -> int:
    with _after_commit(execute=True):
        return deliveries_sweep()


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def _notices(messages: list[Any]) -> list[Any]:
    return [m for m in messages if NOTICE_SUBJECT in str(m["Subject"])]


def _everything(message: Any) -> str:
    return str(message["Subject"]) + "\n" + body_text(message)


def _inbox(client_for: Any, personas: Any) -> str:
    response = client_for(personas.clinician).get(reverse("messaging:inbox"))
    assert response.status_code == 200
    return response.content.decode()


def _later(delivery: Delivery) -> Any:
    """A moment the sweep sees ``delivery`` as due: past its lease and the grace period."""
    due = max(delivery.next_attempt_at, delivery.claimed_until or delivery.next_attempt_at)
    return due + timedelta(seconds=django_settings.MESSAGING_SWEEP_GRACE_SECONDS + 1)


class TestNoticeContent:
    def test_it_names_the_organisation_and_links_to_sign_in(
        self, personas: Any, smtp_server: Any
    ) -> None:
        _sent(personas, subject=SUBJECT, body=BODY, files=[(FILE_NAME, PDF_BYTES)])
        [notice] = smtp_server.messages
        text = _everything(notice)
        assert django_settings.ORGANISATION_NAME in text
        assert NOTICE_SUBJECT in text
        assert django_settings.PORTAL_BASE_URL + reverse("accounts:sign_in") in text
        assert notice["X-Envelope-To"] == personas.patient.email

    def test_it_carries_no_health_information(self, personas: Any, smtp_server: Any) -> None:
        _sent(personas, subject=SUBJECT, body=BODY, files=[(FILE_NAME, PDF_BYTES)])
        text = _everything(smtp_server.messages[0]).lower()
        for secret in (SUBJECT, "melanoma", "biopsy", "pembrolizumab", FILE_NAME, "pathology"):
            assert secret.lower() not in text
        for secret in ("Cedric", "Nakamura", "Penelope", "Quartermaine", "MRN-555001"):
            assert secret.lower() not in text


class TestPermanentRefusal:
    def test_a_refused_recipient_fails_the_notice(
        self, personas: Any, mailbox: ScriptedMailbox
    ) -> None:
        mailbox.rcpt_replies[personas.patient.email] = "550 5.1.1 No such mailbox"
        delivery = _sent(personas)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.failure) == (DeliveryState.FAILED, "smtp_550")
        assert mailbox.messages == []

    def test_a_refused_message_fails_the_notice(
        self, personas: Any, mailbox: ScriptedMailbox
    ) -> None:
        mailbox.data_reply = "550 5.7.1 Message refused"
        delivery = _sent(personas)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.failure) == (DeliveryState.FAILED, "smtp_550")

    def test_the_failure_is_audited(self, personas: Any, mailbox: ScriptedMailbox) -> None:
        mailbox.data_reply = "550 5.7.1 Message refused"
        delivery = _sent(personas)
        [event] = _events("messaging.notice_failed")
        assert (event.target_id, event.details["reason"]) == (str(delivery.pk), "smtp_550")
        assert _events("messaging.notice_sent") == []

    def test_the_message_stays_in_the_portal(self, personas: Any, mailbox: ScriptedMailbox) -> None:
        mailbox.data_reply = "550 5.7.1 Message refused"
        delivery = _sent(personas)
        delivery.message.refresh_from_db()
        assert delivery.message.state == MessageState.SENT

    def test_the_sender_sees_it_in_the_inbox(
        self, personas: Any, mailbox: ScriptedMailbox, client_for: Any
    ) -> None:
        mailbox.data_reply = "550 5.7.1 Message refused"
        _sent(personas)
        assert "Notice not delivered" in _inbox(client_for, personas)

    def test_a_delivered_notice_shows_no_warning(
        self, personas: Any, mailbox: ScriptedMailbox, client_for: Any
    ) -> None:
        _sent(personas)
        assert "Notice not delivered" not in _inbox(client_for, personas)


class TestTemporaryFailure:
    @pytest.fixture
    def closed_port(self, settings: Any) -> None:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.MESSAGING_NOTICE_RETRY_SECONDS = 60
        settings.MESSAGING_NOTICE_MAX_ATTEMPTS = 8

    def test_a_refused_connection_leaves_the_notice_pending(
        self, personas: Any, closed_port: None
    ) -> None:
        delivery = _unsent(personas)
        assert delivery_send(delivery_id=delivery.pk) == "retry"
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
        assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=55)
        assert (delivery.failure, delivery.claimed_until) == ("connection", None)

    def test_a_temporary_smtp_refusal_leaves_the_notice_pending(
        self, personas: Any, mailbox: ScriptedMailbox
    ) -> None:
        mailbox.rcpt_replies[personas.patient.email] = "451 4.3.0 Try again later"
        delivery = _unsent(personas)
        assert delivery_send(delivery_id=delivery.pk) == "retry"
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts, delivery.failure) == ("pending", 1, "smtp_451")
        assert delivery.next_attempt_at > timezone.now()

    def test_a_retry_is_audited(self, personas: Any, closed_port: None) -> None:
        delivery = _unsent(personas)
        delivery_send(delivery_id=delivery.pk)
        [event] = _events("messaging.notice_retry")
        assert (event.target_id, event.details["reason"]) == (str(delivery.pk), "connection")

    def test_it_is_not_tried_again_before_it_is_due(self, personas: Any, closed_port: None) -> None:
        delivery = _unsent(personas)
        delivery_send(delivery_id=delivery.pk)
        assert delivery_send(delivery_id=delivery.pk) == "not_due"
        delivery.refresh_from_db()
        assert delivery.attempts == 1

    def test_each_retry_waits_twice_as_long(self, personas: Any, closed_port: None) -> None:
        delivery = _unsent(personas)
        waits = []
        at = timezone.now() + timedelta(minutes=1)
        for _ in range(3):
            with time_machine.travel(at, tick=False):
                delivery_send(delivery_id=delivery.pk)
            delivery.refresh_from_db()
            waits.append((delivery.next_attempt_at - at).total_seconds())
            at = delivery.next_attempt_at
        assert waits == [60, 120, 240]

    def test_the_sweep_gives_up_after_the_last_attempt(
        self, personas: Any, closed_port: None, settings: Any
    ) -> None:
        settings.MESSAGING_NOTICE_MAX_ATTEMPTS = 3
        delivery = _unsent(personas)
        delivery_send(delivery_id=delivery.pk)
        for _ in range(2):
            delivery.refresh_from_db()
            with time_machine.travel(_later(delivery)):
                assert _sweep() == 1
        delivery.refresh_from_db()
        assert (delivery.state, delivery.failure, delivery.attempts) == ("failed", "gave_up", 3)
        assert len(_events("messaging.notice_failed")) == 1

    def test_a_retry_that_gets_through_sends_the_notice(
        self, personas: Any, mailbox: ScriptedMailbox
    ) -> None:
        mailbox.rcpt_replies[personas.patient.email] = "451 4.3.0 Try again later"
        delivery = _unsent(personas)
        delivery_send(delivery_id=delivery.pk)
        mailbox.rcpt_replies.clear()
        delivery.refresh_from_db()
        with time_machine.travel(_later(delivery)):
            assert _sweep() == 1
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts, delivery.failure) == ("sent", 2, "")
        assert len(mailbox.to(personas.patient.email)) == 1


class TestIdempotency:
    def test_sending_the_same_notice_twice_sends_one_email(
        self, personas: Any, smtp_server: Any
    ) -> None:
        delivery = _unsent(personas)
        first = delivery_send(delivery_id=delivery.pk)
        second = delivery_send(delivery_id=delivery.pk)
        assert (first, second) == ("sent", "not_due")
        assert len(smtp_server.messages) == 1

    def test_a_notice_another_worker_has_claimed_is_not_sent_again(
        self, personas: Any, smtp_server: Any
    ) -> None:
        delivery = _unsent(personas)
        assert _claim([delivery.pk])  # a worker took it and is still talking to the server
        assert delivery_send(delivery_id=delivery.pk) == "not_due"
        assert smtp_server.messages == []

    def test_a_claim_past_its_lease_is_taken_over(self, personas: Any, smtp_server: Any) -> None:
        delivery = _unsent(personas)
        assert _claim([delivery.pk])  # and then its worker died
        lease = timedelta(seconds=django_settings.MESSAGING_NOTICE_LEASE_SECONDS + 1)
        with time_machine.travel(timezone.now() + lease):
            assert delivery_send(delivery_id=delivery.pk) == "sent"
        assert len(smtp_server.messages) == 1

    def test_the_sweep_leaves_a_sent_notice_alone(self, personas: Any, smtp_server: Any) -> None:
        delivery = _sent(personas)
        with time_machine.travel(_later(delivery)):
            assert _sweep() == 0
        assert len(smtp_server.messages) == 1


class TestBrokerOutage:
    @pytest.fixture
    def broker_down(self) -> Any:
        # Nothing listens on port 1. Left to its defaults, kombu retries the connection
        # for about six seconds before it gives up; here it gives up at once.
        return celery_configured(
            broker_url="redis://127.0.0.1:1/0",
            task_always_eager=False,
            task_publish_retry=False,
            broker_transport_options={"max_retries": 0},
        )

    def test_the_send_succeeds_while_the_broker_is_down(
        self, personas: Any, smtp_server: Any, broker_down: Any
    ) -> None:
        with broker_down:
            delivery = _sent(personas)
        assert delivery.message.state == MessageState.SENT
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 0)
        assert smtp_server.messages == []

    def test_the_sweep_waits_for_the_grace_period(
        self, personas: Any, smtp_server: Any, broker_down: Any
    ) -> None:
        with broker_down:
            _sent(personas)
        assert _sweep() == 0
        assert smtp_server.messages == []

    def test_once_the_broker_is_back_the_sweep_sends_the_notice_once(
        self, personas: Any, smtp_server: Any, broker_down: Any
    ) -> None:
        with broker_down:
            delivery = _sent(personas)
        with time_machine.travel(_later(delivery)):
            assert _sweep() == 1
            assert _sweep() == 0
        assert [m["X-Envelope-To"] for m in smtp_server.messages] == [personas.patient.email]
        delivery.refresh_from_db()
        assert delivery.state == DeliveryState.SENT


@pytest.mark.django_db(transaction=True)
class TestKilledWorker:
    @pytest.fixture(autouse=True)
    def _timings(self, settings: Any) -> None:
        """A lease well past the sweep's grace period (the worker is started with it)."""
        settings.MESSAGING_NOTICE_LEASE_SECONDS = 300
        settings.MESSAGING_SWEEP_GRACE_SECONDS = 60

    def test_a_notice_whose_worker_was_killed_mid_send_goes_out_once(
        self, personas: Any, mailbox: ScriptedMailbox, worker: Any
    ) -> None:
        mailbox.hold.set()
        message = message_sent(author=personas.clinician, patient=personas.patient)
        assert mailbox.held.wait(timeout=25), "the worker never reached DATA"
        worker.kill()  # SIGKILL: no cleanup, the task is neither finished nor acknowledged
        worker.wait(timeout=10)
        mailbox.hold.clear()  # the mail server is fine again
        delivery = Delivery.objects.get(message=message)
        assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
        assert delivery.claimed_until is not None and delivery.claimed_until > timezone.now()
        grace = timedelta(seconds=61)
        with celery_configured(task_always_eager=True):  # the sweep's prompt runs here
            assert delivery_send(delivery_id=delivery.pk) == "not_due"  # a redelivered task
            with time_machine.travel(delivery.next_attempt_at + grace):
                assert deliveries_sweep() == 0  # past the grace period; the lease holds
            with time_machine.travel(delivery.claimed_until + grace):
                assert deliveries_sweep() == 1
                assert deliveries_sweep() == 0
        assert [m["X-Envelope-To"] for m in mailbox.messages] == [personas.patient.email]
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 2)


class _Killed(BaseException):
    """kill -9 as the sending code sees it: nothing after this point runs."""


class TestWorkerKilledMidBatch:
    """Found by the soak battery (issue 23): a worker killed after the relay had taken
    some of a batch's notices left them pending, and they went out a second time. (A kill
    in the instant between the relay's "250" and the UPDATE can still repeat that one
    notice: no sender can close that gap; its Message-ID is the same both times.)"""

    def test_the_notices_the_relay_took_before_the_worker_died_go_out_once(
        self, personas: Any, smtp_server: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from messaging import delivery as delivery_module
        from messaging.delivery import deliveries_send

        deliveries = [_unsent(personas) for _ in range(5)]
        real_take = delivery_module._relay_take
        calls: list[int] = []

        def dies_after_three() -> Any:
            connection = real_take()
            send = connection.send_messages

            def die_on_the_fourth(messages: list[Any]) -> int:
                calls.append(1)
                if len(calls) == 4:  # killed while talking to the relay
                    raise _Killed
                return int(send(messages))

            connection.send_messages = die_on_the_fourth
            return connection

        monkeypatch.setattr(delivery_module, "_relay_take", dies_after_three)
        with pytest.raises(_Killed):
            deliveries_send(delivery_ids=[d.pk for d in deliveries])
        monkeypatch.setattr(delivery_module, "_relay_take", real_take)
        delivery_module._relay_forget()  # a killed process keeps no connection
        lease = timedelta(seconds=django_settings.MESSAGING_NOTICE_LEASE_SECONDS + 1)
        with time_machine.travel(timezone.now() + lease):  # the lease of the dead worker
            deliveries_send(delivery_ids=[d.pk for d in deliveries])
        ids = [str(m["Message-ID"]) for m in smtp_server.messages]
        assert len(ids) == len(set(ids)) == 5
        states = Delivery.objects.values_list("state", flat=True)
        assert set(states) == {DeliveryState.SENT}


def _bounce(
    *,
    message_id: str = "",
    body: bytes | None = None,
    timestamp: int | None = None,
    secret: str = SECRET,
    signature: str = "",
) -> Any:
    """The mail provider's call: signed as documented, unless told otherwise."""
    body = json.dumps({"message_id": message_id}).encode() if body is None else body
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return Client().post(
        reverse("messaging:bounce_webhook"),
        data=body,
        content_type="application/json",
        headers={"X-Portal-Timestamp": stamp, "X-Portal-Signature": signature or f"sha256={mac}"},
    )


class TestBounceWebhook:
    @pytest.fixture(autouse=True)
    def _secret(self, settings: Any) -> None:
        settings.MESSAGING_BOUNCE_WEBHOOK_SECRET = SECRET

    @pytest.fixture
    def delivery(self, personas: Any, smtp_server: Any) -> Delivery:
        return _sent(personas)

    @pytest.fixture
    def message_id(self, delivery: Delivery, smtp_server: Any) -> str:
        """The notice's Message-ID as the mail provider received it (and reports it)."""
        [received] = smtp_server.messages
        return str(received["Message-ID"])

    def test_a_signed_bounce_marks_the_notice_bounced(
        self, delivery: Delivery, message_id: str
    ) -> None:
        response = _bounce(message_id=message_id)
        assert response.status_code == 200
        delivery.refresh_from_db()
        assert (delivery.state, delivery.failure) == ("bounced", "bounce")
        assert len(_events("messaging.notice_bounced")) == 1

    def test_the_sender_sees_a_bounced_notice_in_the_inbox(
        self, message_id: str, personas: Any, client_for: Any
    ) -> None:
        _bounce(message_id=message_id)
        assert "Notice not delivered" in _inbox(client_for, personas)

    def test_a_badly_signed_bounce_is_refused_without_growing_the_audit_log(
        self, delivery: Delivery, message_id: str
    ) -> None:
        response = _bounce(message_id=message_id, secret="not-the-secret")
        assert response.status_code == 403
        delivery.refresh_from_db()
        assert delivery.state == DeliveryState.SENT
        assert _events("messaging.bounce_refused") == []

    def test_a_signed_but_refused_bounce_is_audited(
        self, delivery: Delivery, message_id: str
    ) -> None:
        _bounce(message_id=message_id, timestamp=int(time.time()) - 3600)
        [event] = _events("messaging.bounce_refused")
        assert event.details["reason"] == "stale"

    def test_a_replayed_bounce_is_refused(self, delivery: Delivery, message_id: str) -> None:
        now = int(time.time())
        assert _bounce(message_id=message_id, timestamp=now).status_code == 200
        replay = _bounce(message_id=message_id, timestamp=now)
        assert (replay.status_code, replay.json()) == (409, {"error": "replayed"})

    def test_a_stale_bounce_is_refused(
        self, delivery: Delivery, message_id: str, settings: Any
    ) -> None:
        old = int(time.time()) - settings.MESSAGING_BOUNCE_MAX_AGE_SECONDS - 5
        response = _bounce(message_id=message_id, timestamp=old)
        assert (response.status_code, response.json()) == (403, {"error": "stale"})
        delivery.refresh_from_db()
        assert delivery.state == DeliveryState.SENT

    def test_a_bounce_for_an_unknown_notice_is_not_found(self, delivery: Delivery) -> None:
        response = _bounce(message_id="<notice-6d1f1f7e-0000-4000-8000-000000000000@x.test>")
        assert response.status_code == 404

    def test_a_malformed_bounce_is_a_bad_request(self, delivery: Delivery) -> None:
        assert _bounce(body=b'{"message_id": ').status_code == 400

    def test_a_signature_with_non_ascii_characters_is_refused(self, message_id: str) -> None:
        response = _bounce(message_id=message_id, signature="sha256=\u00e9t\u00e9")
        assert response.status_code == 403


class TestResendToCorrectedAddress:
    NEW = "penny.q@newmail.test"

    @pytest.fixture
    def requested(self, personas: Any, mailbox: ScriptedMailbox, client_for: Any) -> Delivery:
        """The notice failed; the clinician gave the corrected address."""
        mailbox.rcpt_replies[personas.patient.email] = "550 5.2.2 Mailbox full"
        delivery = _sent(personas, subject=SUBJECT, body=BODY, files=[(FILE_NAME, PDF_BYTES)])
        mailbox.rcpt_replies.clear()  # the old mailbox takes mail again, as they often do
        url = reverse("messaging:delivery_resend", args=[delivery.pk])
        with _after_commit(execute=True):
            response = client_for(personas.clinician).post(url, {"new_email": self.NEW})
        assert response.status_code == 302
        return delivery

    def _confirm(self, personas: Any, mailbox: ScriptedMailbox, client_for: Any) -> None:
        """The patient, signed in, opens the link from the e-mail and confirms."""
        [confirmation] = mailbox.to(self.NEW)
        link = re.search(r"https?://\S+/security/email/\S+/", body_text(confirmation))
        assert link, "no confirmation link in the e-mail"
        path = urlsplit(link.group(0)).path
        client = client_for(personas.patient)
        assert client.get(path).status_code == 200
        with _after_commit(execute=True):
            assert client.post(path).status_code == 302

    def test_the_new_address_gets_a_confirmation_and_not_the_notice(
        self, requested: Delivery, mailbox: ScriptedMailbox
    ) -> None:
        [confirmation] = mailbox.to(self.NEW)
        assert NOTICE_SUBJECT not in str(confirmation["Subject"])
        assert "/security/email/" in body_text(confirmation)

    def test_the_confirmation_carries_no_health_information(
        self, requested: Delivery, mailbox: ScriptedMailbox
    ) -> None:
        text = _everything(mailbox.to(self.NEW)[0]).lower()
        for secret in ("melanoma", "biopsy", "pembrolizumab", FILE_NAME, "pathology"):
            assert secret.lower() not in text
        for secret in ("Nakamura", "Quartermaine", "MRN-555001"):
            assert secret.lower() not in text

    def test_the_sweep_sends_nothing_before_the_patient_confirms(
        self, requested: Delivery, mailbox: ScriptedMailbox
    ) -> None:
        assert _sweep() == 0
        assert _notices(mailbox.messages) == []

    def test_the_old_address_is_told_once_the_patient_confirms(
        self, requested: Delivery, personas: Any, mailbox: ScriptedMailbox, client_for: Any
    ) -> None:
        old = personas.patient.email
        self._confirm(personas, mailbox, client_for)
        [changed] = mailbox.to(old)
        assert "was changed" in str(changed["Subject"])

    def test_after_confirmation_the_sweep_sends_the_notice_there_once(
        self, requested: Delivery, personas: Any, mailbox: ScriptedMailbox, client_for: Any
    ) -> None:
        self._confirm(personas, mailbox, client_for)
        assert _sweep() == 1
        assert _sweep() == 0
        assert len(_notices(mailbox.to(self.NEW))) == 1
        requested.refresh_from_db()
        assert requested.replaced_by is not None
        assert requested.replaced_by.state == DeliveryState.SENT

    def test_the_inbox_warning_goes_once_the_notice_is_resent(
        self, requested: Delivery, personas: Any, mailbox: ScriptedMailbox, client_for: Any
    ) -> None:
        self._confirm(personas, mailbox, client_for)
        _sweep()
        assert "Notice not delivered" not in _inbox(client_for, personas)


class TestLetter:
    @pytest.fixture
    def delivery(self, personas: Any, smtp_server: Any) -> Delivery:
        return _sent(personas, subject=SUBJECT, body=BODY)

    @pytest.fixture
    def letter(self, delivery: Delivery, personas: Any, client_for: Any) -> Any:
        url = reverse("messaging:delivery_letter", args=[delivery.pk])
        return client_for(personas.clinician).post(url)

    def test_it_is_a_pdf_download(self, letter: Any) -> None:
        assert letter.status_code == 200
        assert letter["Content-Type"] == "application/pdf"
        assert letter["Content-Disposition"].startswith("attachment;")
        assert letter.content.startswith(b"%PDF")

    def test_it_names_the_patient_and_the_portal_and_not_the_message(self, letter: Any) -> None:
        reader = PdfReader(io.BytesIO(letter.content))
        text = " ".join(page.extract_text() for page in reader.pages)
        assert "Penelope Quartermaine" in text
        assert django_settings.PORTAL_BASE_URL in text
        for secret in (SUBJECT, "melanoma", "biopsy", "pembrolizumab", "Nakamura"):
            assert secret.lower() not in text.lower()

    def test_printing_it_is_recorded(self, letter: Any, delivery: Delivery) -> None:
        delivery.refresh_from_db()
        assert delivery.letter_printed_at is not None
        [event] = _events("messaging.letter_printed")
        assert event.target_id == str(delivery.pk)


class TestAttemptsAndOurOwnFaults:
    def test_a_notice_whose_workers_keep_dying_gives_up_at_the_limit(
        self, personas: Any, smtp_server: Any, settings: Any
    ) -> None:
        settings.MESSAGING_NOTICE_MAX_ATTEMPTS = 2
        message = message_sent(author=personas.clinician, patient=personas.patient)
        delivery = Delivery.objects.get(message=message)
        Delivery.objects.filter(pk=delivery.pk).update(attempts=2)  # two claims, no outcome
        assert delivery_send(delivery_id=delivery.pk) == "not_due"
        delivery.refresh_from_db()
        assert (delivery.state, delivery.failure) == ("failed", "gave_up")
        assert smtp_server.messages == []

    def test_an_authentication_refusal_is_retried_not_blamed_on_the_address(
        self, personas: Any, mailbox: Any
    ) -> None:
        mailbox.data_reply = "535 5.7.8 Authentication credentials invalid"
        message = message_sent(author=personas.clinician, patient=personas.patient)
        delivery = Delivery.objects.get(message=message)
        assert delivery_send(delivery_id=delivery.pk) == "retry"
        delivery.refresh_from_db()
        assert delivery.state == "pending" and delivery.failure == "smtp_535"


def test_the_sweep_forgets_bounce_receipts_once_their_calls_would_be_stale(
    personas: Any, settings: Any
) -> None:
    from messaging.models import WebhookReceipt

    settings.MESSAGING_BOUNCE_MAX_AGE_SECONDS = 300
    WebhookReceipt.objects.create(signature="old", received_at=timezone.now() - timedelta(hours=1))
    WebhookReceipt.objects.create(signature="recent")
    deliveries_sweep()
    assert list(WebhookReceipt.objects.values_list("signature", flat=True)) == ["recent"]


def test_a_batch_outliving_half_its_lease_hands_the_rest_back(
    personas: Any, smtp_server: Any, settings: Any
) -> None:
    from messaging.delivery import deliveries_send

    settings.MESSAGING_NOTICE_LEASE_SECONDS = 0  # every send is already past half the lease
    message = message_sent(author=personas.clinician, patient=personas.patient)
    delivery = Delivery.objects.get(message=message)
    assert deliveries_send(delivery_ids=[delivery.pk]) == {str(delivery.pk): "released"}
    delivery.refresh_from_db()
    assert (delivery.state, delivery.claimed_until, delivery.attempts) == ("pending", None, 0)
    assert smtp_server.messages == []


def test_a_bounce_reported_while_its_batch_runs_stays_a_bounce(
    personas: Any, smtp_server: Any
) -> None:
    from messaging.delivery import _mark_sent

    message = message_sent(author=personas.clinician, patient=personas.patient)
    delivery = Delivery.objects.select_related("message__thread").get(message=message)
    Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.BOUNCED, failure="bounce")
    _mark_sent([delivery])  # the batch finishing after the webhook
    delivery.refresh_from_db()
    assert (delivery.state, delivery.failure) == ("bounced", "bounce")


def test_a_refused_sender_is_retried_not_blamed_on_the_patients_address(
    personas: Any, mailbox: ScriptedMailbox
) -> None:
    mailbox.mail_reply = "550 5.7.1 Sender not allowed to relay"
    message = message_sent(author=personas.clinician, patient=personas.patient)
    delivery = Delivery.objects.get(message=message)
    assert delivery_send(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.failure) == ("pending", "smtp_550")


class TestWorkerCost:
    """What the worker does per notice stays the same however many a task sends."""

    def _queued(self, personas: Any, count: int) -> list[str]:
        return [str(_unsent(personas).pk) for _ in range(count)]

    def test_a_batch_of_notices_costs_the_queries_of_one_plus_each_notices_mark(
        self, personas: Any, smtp_server: Any
    ) -> None:
        """One claim, one read, one connection for the batch; each notice is marked sent
        on its own as the relay takes it (TestWorkerKilledMidBatch): a savepoint, the
        UPDATE, the audit INSERT and the release, and nothing else grows with the batch."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from messaging.delivery import deliveries_send

        deliveries_send(delivery_ids=self._queued(personas, 1))  # warm: templates, caches
        one, four = self._queued(personas, 1), self._queued(personas, 4)
        with CaptureQueriesContext(connection) as for_one:
            deliveries_send(delivery_ids=one)
        with CaptureQueriesContext(connection) as for_four:
            assert set(deliveries_send(delivery_ids=four).values()) == {"sent"}
        assert len(for_four) == len(for_one) + 3 * 4
        assert len(_notices(smtp_server.messages)) == 6

    def test_a_task_reads_its_delivery_once_in_the_query_that_claims_it(
        self, personas: Any, smtp_server: Any
    ) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        delivery_id = self._queued(personas, 1)[0]
        with CaptureQueriesContext(connection) as queries:
            assert delivery_send(delivery_id=delivery_id) == "sent"
        reads = [q["sql"] for q in queries if q["sql"].startswith('SELECT "messaging_delivery"')]
        assert len(reads) == 1 and "FOR UPDATE" in reads[0]

    def test_the_notice_is_rendered_once_for_many_tasks(
        self, personas: Any, smtp_server: Any
    ) -> None:
        from django.test.signals import template_rendered

        rendered: list[str] = []

        def seen(sender: Any, template: Any, **kwargs: Any) -> None:
            rendered.append(template.name)

        template_rendered.connect(seen)
        try:
            for delivery_id in self._queued(personas, 3):
                assert delivery_send(delivery_id=delivery_id) == "sent"
        finally:
            template_rendered.disconnect(seen)
        assert rendered.count("messaging/email/new_message.html") == 1
        assert len(_notices(smtp_server.messages)) == 3

    def test_a_changed_organisation_name_is_in_the_next_notice(
        self, personas: Any, smtp_server: Any, settings: Any
    ) -> None:
        assert delivery_send(delivery_id=_unsent(personas).pk) == "sent"
        settings.ORGANISATION_NAME = "Riverside Family Practice"
        assert delivery_send(delivery_id=_unsent(personas).pk) == "sent"
        assert "Riverside Family Practice" in _everything(smtp_server.messages[-1])
        assert "Riverside Family Practice" not in _everything(smtp_server.messages[0])

    def test_a_waiting_one_time_password_is_discarded_for_a_portal_patient(
        self, personas: Any, smtp_server: Any
    ) -> None:
        from messaging.document_passwords import (
            one_time_password_issue,
            one_time_password_pending,
        )

        delivery = _unsent(personas)  # the patient never chose a method: portal pickup
        one_time_password_issue(actor=personas.clinician, message_id=delivery.message_id)
        assert delivery_send(delivery_id=delivery.pk) == "sent"
        assert not one_time_password_pending(delivery.message_id)
        [event] = _events("messaging.one_time_password_discarded")
        assert event.details["reason"] == "portal"

    def test_tasks_in_a_row_share_one_connection_to_the_relay(
        self, personas: Any, smtp_server: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        connects = _connects_counted(monkeypatch)
        for delivery_id in self._queued(personas, 3):
            assert delivery_send(delivery_id=delivery_id) == "sent"
        assert len(connects) == 1
        assert len(_notices(smtp_server.messages)) == 3

    def test_a_kept_connection_that_no_longer_answers_is_replaced(
        self, personas: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from aiosmtpd.controller import Controller

        class ClosingRelay(ScriptedMailbox):
            async def handle_NOOP(self, server: Any, session: Any, envelope: Any, arg: str) -> str:
                return "421 4.4.2 Idle too long, closing"

        relay = ClosingRelay()
        controller = Controller(relay, hostname="127.0.0.1", port=free_port())
        controller.start()
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        connects = _connects_counted(monkeypatch)
        try:
            for delivery_id in self._queued(personas, 2):
                assert delivery_send(delivery_id=delivery_id) == "sent"
        finally:
            controller.stop()
        assert len(connects) == 2 and len(_notices(relay.messages)) == 2


def _connects_counted(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Each TCP connection Django's SMTP backend opens (smtplib itself still connects)."""
    import smtplib

    original, connects = smtplib.SMTP.connect, []

    def counted(self: smtplib.SMTP, *args: Any, **kwargs: Any) -> Any:
        connects.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "connect", counted)
    return connects


@pytest.mark.django_db(transaction=True)
def test_a_claim_does_not_wait_for_or_skip_a_patient_whose_account_row_is_locked(
    personas: Any, smtp_server: Any
) -> None:
    """The claim reads the patient with the delivery, and locks only the delivery, its
    message and its thread: a sign-in updating the account row meanwhile delays nothing."""
    import psycopg
    from django.db import connection

    with celery_configured(broker_url="memory://", task_always_eager=False):  # not prompted
        message = message_sent(author=personas.clinician, patient=personas.patient)
    delivery = Delivery.objects.get(message=message)
    params = {**connection.get_connection_params()}
    params.pop("cursor_factory", None)
    with psycopg.connect(**params) as other:  # a transaction, left open until the end
        other.execute("SELECT 1 FROM accounts_user WHERE id = %s FOR UPDATE", [personas.patient.pk])
        assert delivery_send(delivery_id=delivery.pk) == "sent"
    assert len(smtp_server.messages) == 1
