"""Staff mark a conversation confidential: the patient's alone, hidden from proxies."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import ProxyScope
from audit.models import AuditEvent
from messaging import services
from messaging.errors import MessagingError
from messaging.models import Thread
from tests.accounts.proxy_factories import link_made, make_proxy
from tests.messaging.factories import message_sent

pytestmark = pytest.mark.django_db


def mark(client: Any, thread: Thread, confidential: bool) -> Any:
    return client.post(
        reverse("messaging:thread_confidential", args=[thread.pk]),
        {"confidential": "1" if confidential else "0"},
    )


@pytest.fixture
def thread(personas: Any) -> Thread:
    return message_sent(author=personas.clinician, patient=personas.patient).thread


class TestMarkingConfidential:
    def test_the_clinician_marks_it_from_the_thread_page(
        self, personas: Any, client_for: Any, thread: Thread
    ) -> None:
        client = client_for(personas.clinician)
        page = client.get(reverse("messaging:thread", args=[thread.pk])).content.decode()
        assert "Mark confidential" in page
        answer = mark(client, thread, True)
        assert answer.status_code == 302
        thread.refresh_from_db()
        assert thread.confidential
        page = client.get(reverse("messaging:thread", args=[thread.pk])).content.decode()
        assert "Remove confidential mark" in page and "hidden from anyone acting" in page

    def test_it_is_audited_with_the_patient(
        self, personas: Any, client_for: Any, thread: Thread
    ) -> None:
        mark(client_for(personas.clinician), thread, True)
        event = AuditEvent.objects.get(action="messaging.thread_confidential")
        assert (event.actor_id, event.patient_id) == (personas.clinician.pk, personas.patient.pk)
        assert event.details == {"confidential": True}

    def test_the_privacy_officer_removes_the_mark(
        self, personas: Any, client_for: Any, thread: Thread
    ) -> None:
        Thread.objects.filter(pk=thread.pk).update(confidential=True)
        mark(client_for(personas.privacy_officer), thread, False)
        thread.refresh_from_db()
        assert not thread.confidential

    def test_a_records_clerk_who_sees_the_thread_has_no_button_and_is_refused(
        self, personas: Any, client_for: Any, thread: Thread
    ) -> None:
        Thread.objects.filter(pk=thread.pk).update(assigned_to=personas.records_clerk)
        client = client_for(personas.records_clerk)
        page = client.get(reverse("messaging:thread", args=[thread.pk])).content.decode()
        assert "Mark confidential" not in page
        mark(client, thread, True)
        thread.refresh_from_db()
        assert not thread.confidential
        assert not AuditEvent.objects.filter(action="messaging.thread_confidential").exists()

    def test_the_service_refuses_a_clinician_off_the_care_team(
        self, personas: Any, thread: Thread
    ) -> None:
        from accounts.models import Role
        from tests.conftest import make_user

        stranger = make_user("sam.stranger@clinic.test", "Samuel Stranger", Role.CLINICIAN)
        with pytest.raises(MessagingError):
            services.thread_confidential_set(actor=stranger, thread=thread, confidential=True)


class TestProxiesDoNotSeeIt:
    def test_a_parent_loses_sight_of_the_thread_once_marked(
        self, personas: Any, client_for: Any, thread: Thread
    ) -> None:
        proxy = make_proxy()
        link_made(
            proxy=proxy,
            patient=personas.patient,
            by=personas.records_clerk,
            scopes=[ProxyScope.READ_MESSAGES],
        )
        client = client_for(proxy)
        client.post(reverse("portal:acting_choose"), {"patient": personas.patient.pk})
        url = reverse("portal:thread", args=[thread.pk])
        assert client.get(url).status_code == 200
        mark(client_for(personas.clinician), thread, True)
        assert client.get(url).status_code == 404
        assert client_for(personas.patient).get(url).status_code == 200
