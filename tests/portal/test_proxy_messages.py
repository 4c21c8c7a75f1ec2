"""A proxy reads and replies for the patient they act for, within their link's scope."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import PatientProfile, ProxyKind, ProxyScope
from accounts.proxies import ACTING_FOR_SESSION_KEY
from audit.models import AuditEvent
from messaging.models import Message, Thread
from tests.accounts.proxy_factories import acting_client, link_made, make_proxy
from tests.messaging.factories import message_sent

pytestmark = pytest.mark.django_db


@pytest.fixture
def proxy(personas: Any) -> Any:
    return make_proxy()


class TestChoosing:
    def test_a_proxy_without_a_choice_is_sent_to_choose(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        client = client_for(proxy)
        answer = client.get(reverse("portal:inbox"))
        assert answer.status_code == 302 and answer.url == reverse("portal:acting_choose")
        page = client.get(reverse("portal:acting_choose")).content.decode()
        assert "Penelope Quartermaine" in page and "Ulrich" not in page

    def test_choosing_is_audited_and_shown_on_every_page(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        client = acting_client(client_for, proxy, personas.patient)
        home = client.get(reverse("accounts:home")).content.decode()
        assert "Acting for: <strong>Penelope Quartermaine</strong>" in home
        event = AuditEvent.objects.get(action="accounts.proxy_acting_for")
        assert (event.actor_id, event.patient_id) == (proxy.pk, personas.patient.pk)

    def test_a_patient_not_linked_cannot_be_chosen(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        client = client_for(proxy)
        answer = client.post(
            reverse("portal:acting_choose"), {"patient": personas.other_patient.pk}
        )
        assert answer.status_code == 400
        assert "Choose one of the people listed below." in answer.content.decode()
        session = client.session
        session[ACTING_FOR_SESSION_KEY] = personas.other_patient.pk  # forged
        session.save()
        assert client.get(reverse("portal:inbox")).status_code == 302


class TestReading:
    def test_a_proxy_reads_the_patients_message_and_the_audit_names_both(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        link_made(
            proxy=proxy,
            patient=personas.patient,
            by=personas.records_clerk,
            scopes=[ProxyScope.READ_MESSAGES],
        )
        client = acting_client(client_for, proxy, personas.patient)
        inbox = client.get(reverse("portal:inbox")).content.decode()
        assert "Your appointment" in inbox
        assert "Secure messages for Penelope Quartermaine" in inbox
        page = client.get(reverse("portal:thread", args=[message.thread_id])).content.decode()
        assert "Please bring your medication list." in page
        assert "Your proxy access does not include sending messages." in page
        opened = AuditEvent.objects.filter(action="messaging.message_opened").get()
        assert (opened.actor_id, opened.actor_role, opened.patient_id) == (
            proxy.pk,
            "proxy",
            personas.patient.pk,
        )
        attachment = message.attachments.get()
        answer = client.get(reverse("portal:attachment", args=[attachment.pk]))
        assert answer.status_code == 200
        downloaded = AuditEvent.objects.get(action="messaging.attachment_downloaded")
        assert (downloaded.actor_id, downloaded.patient_id) == (proxy.pk, personas.patient.pk)

    def test_the_care_team_sees_that_a_proxy_opened_it_not_the_patient(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        link_made(
            proxy=proxy,
            patient=personas.patient,
            by=personas.records_clerk,
            scopes=[ProxyScope.READ_MESSAGES],
        )
        client = acting_client(client_for, proxy, personas.patient)
        client.get(reverse("portal:thread", args=[message.thread_id]))
        message.refresh_from_db()
        assert message.opened_by_id == proxy.pk
        staff = client_for(personas.clinician)
        url = reverse("messaging:thread", args=[message.thread_id])
        page = staff.get(url).content.decode()
        assert "Opened by Parker Lindqvist (proxy) for the patient " in page
        assert "Opened by the patient" not in page
        # The patient's own opening afterwards does not rewrite the first one.
        client_for(personas.patient).get(reverse("portal:thread", args=[message.thread_id]))
        assert "Opened by Parker Lindqvist (proxy) for the patient " in (
            staff.get(url).content.decode()
        )

    def test_without_the_read_scope_the_messages_are_refused_with_a_reason(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        link_made(
            proxy=proxy,
            patient=personas.patient,
            by=personas.records_clerk,
            scopes=[ProxyScope.REQUEST_RECORDS],
        )
        client = acting_client(client_for, proxy, personas.patient)
        for url in (
            reverse("portal:inbox"),
            reverse("portal:thread", args=[message.thread_id]),
            reverse("portal:attachment", args=[message.attachments.get().pk]),
        ):
            answer = client.get(url)
            assert answer.status_code == 403
            assert "does not include this page" in answer.content.decode()
        assert not AuditEvent.objects.filter(action="messaging.message_opened").exists()

    def test_another_patients_thread_is_not_found(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        theirs = message_sent(author=personas.records_clerk, patient=personas.other_patient)
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        client = acting_client(client_for, proxy, personas.patient)
        assert client.get(reverse("portal:thread", args=[theirs.thread_id])).status_code == 404
        attachment = theirs.attachments.get()
        assert client.get(reverse("portal:attachment", args=[attachment.pk])).status_code == 404

    def test_a_confidential_thread_is_the_patients_alone(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        secret = message_sent(
            author=personas.clinician, patient=personas.patient, subject="Just between us"
        )
        Thread.objects.filter(pk=secret.thread_id).update(confidential=True)
        PatientProfile.objects.filter(user=personas.patient).update(
            date_of_birth=timezone.localdate() - timedelta(days=15 * 365)
        )
        link_made(
            proxy=proxy, patient=personas.patient, by=personas.records_clerk, kind=ProxyKind.PARENT
        )
        client = acting_client(client_for, proxy, personas.patient)
        assert "Just between us" not in client.get(reverse("portal:inbox")).content.decode()
        assert client.get(reverse("portal:thread", args=[secret.thread_id])).status_code == 404
        attachment = secret.attachments.get()
        assert client.get(reverse("portal:attachment", args=[attachment.pk])).status_code == 404
        reply = client.post(
            reverse("portal:reply", args=[secret.thread_id]),
            {"body": "Let me see", "send_key": uuid.uuid4()},
        )
        assert reply.status_code == 404
        patient_inbox = client_for(personas.patient).get(reverse("portal:inbox"))
        assert "Just between us" in patient_inbox.content.decode()

    def test_the_next_request_after_a_revocation_is_refused(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        link = link_made(
            proxy=proxy, patient=personas.patient, by=personas.patient, kind=ProxyKind.CAREGIVER
        )
        client = acting_client(client_for, proxy, personas.patient)
        url = reverse("portal:thread", args=[message.thread_id])
        assert client.get(url).status_code == 200
        link.revoked_at = timezone.now()
        link.save()
        answer = client.get(url)
        assert answer.status_code == 302 and answer.url == reverse("portal:acting_choose")
        assert "no proxy access" in client.get(answer.url).content.decode()


class TestReplying:
    def test_a_proxy_reply_shows_whose_it_is_to_the_care_team(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        link_made(
            proxy=proxy,
            patient=personas.patient,
            by=personas.records_clerk,
            scopes=[ProxyScope.READ_MESSAGES, ProxyScope.SEND_MESSAGES],
        )
        client = acting_client(client_for, proxy, personas.patient)
        answer = client.post(
            reverse("portal:reply", args=[message.thread_id]),
            {"body": "She is feeling better", "send_key": uuid.uuid4()},
        )
        assert answer.status_code == 302
        reply = Message.objects.get(from_patient=True)
        assert (reply.author_id, reply.thread_id) == (proxy.pk, message.thread_id)
        event = AuditEvent.objects.get(action="messaging.reply_sent")
        assert (event.actor_id, event.patient_id) == (proxy.pk, personas.patient.pk)
        staff_page = client_for(personas.clinician).get(
            reverse("messaging:thread", args=[message.thread_id])
        )
        assert "Parker Lindqvist for Penelope Quartermaine (proxy)" in staff_page.content.decode()
        patient_page = client_for(personas.patient).get(
            reverse("portal:thread", args=[message.thread_id])
        )
        assert "Parker Lindqvist for Penelope Quartermaine" in patient_page.content.decode()

    def test_without_the_send_scope_a_reply_is_refused(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        link_made(
            proxy=proxy,
            patient=personas.patient,
            by=personas.records_clerk,
            scopes=[ProxyScope.READ_MESSAGES],
        )
        client = acting_client(client_for, proxy, personas.patient)
        answer = client.post(
            reverse("portal:reply", args=[message.thread_id]),
            {"body": "Hello", "send_key": uuid.uuid4()},
        )
        assert answer.status_code == 403
        assert not Message.objects.filter(from_patient=True).exists()
