"""A proxy who reads the patient's messages hears that one is waiting, and nothing more.

Through a real SMTP server on loopback: the notice goes to the proxy's own address, in
their language, names neither the patient nor anything of the message, goes once, and
never for a confidential conversation or a link that no longer reaches the messages.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import ProxyScope, User
from accounts.tasks import MailNotSent
from audit.models import AuditEvent
from messaging import services
from messaging.models import Message, ProxyNotice, Thread
from messaging.proxy_notices import proxy_notice_deliver, proxy_notices_sweep
from messaging.tasks import proxy_notice_send
from tests.accounts.proxy_factories import link_made, make_proxy
from tests.conftest import body_text
from tests.messaging.factories import message_sent

pytestmark = pytest.mark.django_db

SUBJECT = "Asthma inhaler review"
BODY = "Your spirometry improved; keep the salbutamol inhaler at school."


@pytest.fixture
def proxy(personas: Any) -> User:
    proxy = make_proxy()
    link_made(
        proxy=proxy,
        patient=personas.patient,
        by=personas.records_clerk,
        scopes=[ProxyScope.READ_MESSAGES],
    )
    return proxy


def sent(
    personas: Any, capture: Any, *, execute: bool = True, thread: Thread | None = None
) -> Message:
    with capture(execute=execute):
        return message_sent(
            author=personas.clinician,
            patient=personas.patient,
            subject=SUBJECT,
            body=BODY,
            thread=thread,
        )


class TestTheProxysNotice:
    def test_the_proxy_and_the_patient_are_both_told(
        self,
        personas: Any,
        proxy: User,
        mailbox: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        sent(personas, django_capture_on_commit_callbacks)
        assert len(mailbox.to(proxy.email)) == 1
        assert len(mailbox.to(personas.patient.email)) == 1

    def test_it_names_no_one_and_nothing_of_the_message(
        self,
        personas: Any,
        proxy: User,
        mailbox: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        sent(personas, django_capture_on_commit_callbacks)
        (notice,) = mailbox.to(proxy.email)
        text = str(notice["Subject"]) + "\n" + body_text(notice)
        assert "waiting for someone you act for" in text
        for secret in ["Penelope", "Quartermaine", "MRN-555001", "Asthma", "spirometry"]:
            assert secret.lower() not in text.lower()
        assert "results.pdf" not in text  # the message's attachment

    def test_it_is_in_the_proxys_language(
        self,
        personas: Any,
        proxy: User,
        mailbox: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        User.objects.filter(pk=proxy.pk).update(language="es")
        sent(personas, django_capture_on_commit_callbacks)
        assert 'lang="es"' in body_text(mailbox.to(proxy.email)[0])
        assert 'lang="en"' in body_text(mailbox.to(personas.patient.email)[0])

    def test_it_is_audited_with_the_patient(
        self,
        personas: Any,
        proxy: User,
        mailbox: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        message = sent(personas, django_capture_on_commit_callbacks)
        event = AuditEvent.objects.get(action="messaging.proxy_notice_sent")
        assert event.patient_id == personas.patient.pk
        assert event.details == {"message_id": str(message.pk), "proxy_id": proxy.pk}

    def test_a_second_prompt_sends_nothing(
        self,
        personas: Any,
        proxy: User,
        mailbox: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        sent(personas, django_capture_on_commit_callbacks)
        notice = ProxyNotice.objects.get()
        assert proxy_notice_send.delay(str(notice.pk)).get() == "not_due"
        assert len(mailbox.to(proxy.email)) == 1

    def test_a_bulk_send_tells_the_proxy_too(
        self,
        personas: Any,
        proxy: User,
        mailbox: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        item = services.BulkItem(
            send_key=uuid.uuid4(),
            patient=personas.patient,
            subject="Clinic closed Friday",
            body="Walk-ins welcome Monday.",
            category="administrative",
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.messages_send_bulk(actor=personas.privacy_officer, items=[item])
        assert len(mailbox.to(proxy.email)) == 1


class TestWhoIsNotTold:
    def test_a_proxy_who_does_not_read_messages(
        self, personas: Any, mailbox: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        other = make_proxy()
        link_made(
            proxy=other,
            patient=personas.patient,
            by=personas.records_clerk,
            scopes=[ProxyScope.REQUEST_RECORDS, ProxyScope.SEND_MESSAGES],
        )
        sent(personas, django_capture_on_commit_callbacks)
        assert mailbox.to(other.email) == [] and not ProxyNotice.objects.exists()

    @pytest.mark.parametrize("state", ["revoked_at", "suspended_at", "aged_out_at"])
    def test_a_proxy_whose_link_ended(
        self,
        personas: Any,
        mailbox: Any,
        django_capture_on_commit_callbacks: Any,
        state: str,
    ) -> None:
        other = make_proxy()
        when: dict[str, Any] = {state: timezone.now()}
        link_made(proxy=other, patient=personas.patient, by=personas.records_clerk, **when)
        sent(personas, django_capture_on_commit_callbacks)
        assert mailbox.to(other.email) == []

    def test_anyone_for_a_confidential_conversation(
        self,
        personas: Any,
        proxy: User,
        mailbox: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        first = message_sent(author=personas.clinician, patient=personas.patient)
        Thread.objects.filter(pk=first.thread_id).update(confidential=True)
        first.thread.refresh_from_db()
        sent(personas, django_capture_on_commit_callbacks, thread=first.thread)
        assert mailbox.to(proxy.email) == []
        assert len(mailbox.to(personas.patient.email)) == 1  # the patient still is

    def test_a_proxy_revoked_before_the_notice_went(
        self,
        personas: Any,
        proxy: User,
        mailbox: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        sent(personas, django_capture_on_commit_callbacks, execute=False)
        proxy.proxy_links.update(revoked_at=timezone.now())
        notice = ProxyNotice.objects.get()
        assert proxy_notice_deliver(notice_id=notice.pk) == "ended"
        notice.refresh_from_db()
        assert notice.ended == "link_ended" and mailbox.to(proxy.email) == []

    def test_a_conversation_marked_confidential_before_the_notice_went(
        self,
        personas: Any,
        proxy: User,
        mailbox: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        message = sent(personas, django_capture_on_commit_callbacks, execute=False)
        services.thread_confidential_set(
            actor=personas.clinician, thread=message.thread, confidential=True
        )
        assert proxy_notice_deliver(notice_id=ProxyNotice.objects.get().pk) == "ended"
        assert mailbox.to(proxy.email) == []


class TestWhenTheRelayRefuses:
    def test_a_refused_address_ends_the_notice_and_is_audited(
        self,
        personas: Any,
        proxy: User,
        mailbox: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        mailbox.rcpt_replies[proxy.email] = "550 5.1.1 No such user"
        sent(personas, django_capture_on_commit_callbacks)
        notice = ProxyNotice.objects.get()
        assert (notice.sent_at, notice.ended) == (None, "smtp_550")
        assert AuditEvent.objects.filter(action="messaging.proxy_notice_failed").count() == 1

    def test_a_passing_failure_leaves_it_for_a_retry_and_the_sweep(
        self,
        personas: Any,
        proxy: User,
        mailbox: Any,
        django_capture_on_commit_callbacks: Any,
        settings: Any,
    ) -> None:
        sent(personas, django_capture_on_commit_callbacks, execute=False)
        notice = ProxyNotice.objects.get()
        mailbox.rcpt_replies[proxy.email] = "451 4.3.0 Try again later"
        with pytest.raises(MailNotSent):
            proxy_notice_deliver(notice_id=notice.pk)
        notice.refresh_from_db()
        assert notice.sent_at is None and notice.ended_at is None
        del mailbox.rcpt_replies[proxy.email]
        settings.MESSAGING_SWEEP_GRACE_SECONDS = 0
        assert proxy_notices_sweep() == 1
        assert len(mailbox.to(proxy.email)) == 1
        assert proxy_notices_sweep() == 0
