"""The home page after sign-in: what waits for a patient; each staff role's queues."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from messaging import services as messaging_services
from messaging.models import Delivery, DeliveryState
from tests.consent.factories import authorization_signed
from tests.messaging.factories import message_sent
from tests.records.factories import request_received

pytestmark = pytest.mark.django_db

HOME = reverse("accounts:home")
HREF = re.compile(r'<a [^>]*href="([^"#]+)"')


def home_of(client: Any) -> str:
    response = client.get(HOME)
    assert response.status_code == 200
    return response.content.decode()


class TestPatientHome:
    def test_nothing_waiting_reads_naturally(self, personas: Any, client_for: Any) -> None:
        page = home_of(client_for(personas.patient))
        assert "Nothing is waiting for you right now." in page

    def test_it_counts_unread_messages_and_names_the_newest_sender(
        self, personas: Any, client_for: Any
    ) -> None:
        message_sent(author=personas.clinician, patient=personas.patient, files=[])
        message_sent(author=personas.clinician, patient=personas.patient, files=[])
        page = home_of(client_for(personas.patient))
        assert "You have 2 new messages." in page
        assert "The newest is from Cedric Nakamura, clinician" in page
        assert reverse("portal:inbox") in page
        assert "Your appointment" not in page  # no subject on the home page

    def test_an_opened_message_no_longer_waits(self, personas: Any, client_for: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient, files=[])
        messaging_services.message_open(actor=personas.patient, message=message)
        assert "new message" not in home_of(client_for(personas.patient))

    def test_an_open_request_shows_its_due_date(self, personas: Any, client_for: Any) -> None:
        request = request_received(patient=personas.patient)
        page = home_of(client_for(personas.patient))
        due = timezone.localtime(request.due_at).strftime("%-d %b %Y")
        assert f"We will answer by {due}." in page
        assert reverse("portal:records_detail", args=[request.pk]) in page

    def test_a_permission_ending_within_30_days_is_shown(
        self, personas: Any, client_for: Any
    ) -> None:
        soon = authorization_signed(
            patient=personas.patient, expires_on=timezone.localdate() + timedelta(days=10)
        )
        later = authorization_signed(patient=personas.patient)  # a year from now
        page = home_of(client_for(personas.patient))
        assert "A permission you gave to share your records ends on" in page
        assert reverse("portal:sharing_detail", args=[soon.pk]) in page
        assert reverse("portal:sharing_detail", args=[later.pk]) not in page

    def test_another_patients_items_are_not_shown(self, personas: Any, client_for: Any) -> None:
        message_sent(author=personas.clinician, patient=personas.patient, files=[])
        request_received(patient=personas.patient)
        page = home_of(client_for(personas.other_patient))
        assert "Nothing is waiting for you right now." in page

    def test_every_link_answers(self, personas: Any, client_for: Any) -> None:
        message_sent(author=personas.clinician, patient=personas.patient, files=[])
        request_received(patient=personas.patient)
        authorization_signed(
            patient=personas.patient, expires_on=timezone.localdate() + timedelta(days=10)
        )
        client = client_for(personas.patient)
        for href in set(HREF.findall(home_of(client))):
            assert client.get(href).status_code == 200, href

    def test_the_query_count_does_not_grow_with_what_waits(
        self, personas: Any, client_for: Any, django_assert_max_num_queries: Any
    ) -> None:
        client = client_for(personas.patient)
        client.get(HOME)
        with CaptureQueriesContext(connection) as empty:
            client.get(HOME)
        for _ in range(5):
            message_sent(author=personas.clinician, patient=personas.patient, files=[])
            request_received(patient=personas.patient)
        # Session user, second factor, care team, open requests, permissions ending, and
        # the unread messages: the marked conversations (none: nothing more), then the
        # count and the newest in one query. Seven at most, whatever waits.
        with django_assert_max_num_queries(7):
            page = home_of(client)
        assert "You have 5 new messages." in page
        assert len(empty) == 6

    def test_past_the_newest_conversations_it_says_at_least(
        self, personas: Any, client_for: Any, monkeypatch: Any
    ) -> None:
        from messaging import selectors

        monkeypatch.setattr(selectors, "WAITING_THREADS", 2)
        for _ in range(3):
            message_sent(author=personas.clinician, patient=personas.patient, files=[])
        assert "You have at least 2 new messages." in home_of(client_for(personas.patient))
        monkeypatch.setattr(selectors, "WAITING_THREADS", 3)
        assert "You have 3 new messages." in home_of(client_for(personas.patient))


class TestInboxRows:
    def test_a_row_names_the_sender_role_and_says_new(self, personas: Any, client_for: Any) -> None:
        message_sent(author=personas.clinician, patient=personas.patient, files=[])
        page = client_for(personas.patient).get(reverse("portal:inbox")).content.decode()
        assert "From Cedric Nakamura, clinician" in page
        assert ">New<" in page
        assert "Your appointment" in page

    def test_a_read_thread_has_no_new_label(self, personas: Any, client_for: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient, files=[])
        messaging_services.message_open(actor=personas.patient, message=message)
        page = client_for(personas.patient).get(reverse("portal:inbox")).content.decode()
        assert ">New<" not in page

    def test_twenty_rows_take_a_fixed_number_of_queries(
        self, personas: Any, client_for: Any, django_assert_max_num_queries: Any
    ) -> None:
        for _ in range(20):
            message_sent(author=personas.clinician, patient=personas.patient, files=[])
        client = client_for(personas.patient)
        with django_assert_max_num_queries(25):
            page = client.get(reverse("portal:inbox")).content.decode()
        assert page.count("From Cedric Nakamura, clinician") == 20


class TestStaffHome:
    @pytest.mark.parametrize("role", ["clinician", "records_clerk", "privacy_officer"])
    @override_settings(APP_MODE="demo")
    def test_every_link_answers_for_the_role(
        self, personas: Any, client_for: Any, role: str
    ) -> None:
        request_received(patient=personas.patient)
        client = client_for(getattr(personas, role))
        for href in set(HREF.findall(home_of(client))):
            assert client.get(href).status_code == 200, (role, href)

    @override_settings(APP_MODE="demo")
    def test_the_outbox_card_only_for_whoever_may_open_it(
        self, personas: Any, client_for: Any
    ) -> None:
        assert "Demo outbox" in home_of(client_for(personas.privacy_officer))
        assert "Demo outbox" not in home_of(client_for(personas.clinician))
        assert "Demo outbox" not in home_of(client_for(personas.records_clerk))

    def test_a_clinician_sees_unread_patient_replies(self, personas: Any, client_for: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient, files=[])
        messaging_services.reply_send(
            actor=personas.patient,
            thread=message.thread,
            body="Thank you",
            send_key=uuid.uuid4(),
            attachments=[],
        )
        page = home_of(client_for(personas.clinician))
        assert "<strong>1</strong> conversation with unread patient replies." in page

    def test_a_clerk_sees_requests_due_soon_overdue_and_unassigned(
        self, personas: Any, client_for: Any
    ) -> None:
        now = timezone.now()
        request_received(patient=personas.patient, received_at=now - timedelta(days=27))
        request_received(patient=personas.patient, received_at=now - timedelta(days=40))
        request_received(patient=personas.patient)
        page = home_of(client_for(personas.records_clerk))
        assert re.search(r"<strong>1</strong> overdue", page)
        assert re.search(r"<strong>1</strong> due within 7 days", page)
        assert re.search(r"<strong>3</strong> open and not assigned", page)

    def test_the_privacy_officer_is_told_of_a_failed_notice(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient, files=[])
        Delivery.objects.filter(message=message).update(
            state=DeliveryState.BOUNCED, failure="bounce"
        )
        page = home_of(client_for(personas.privacy_officer))
        assert "<strong>1</strong> conversation where an e-mail notice failed." in page
        assert "notice failed" not in home_of(client_for(personas.clinician))

    def test_past_the_cap_the_counts_say_or_more(
        self, personas: Any, client_for: Any, monkeypatch: Any
    ) -> None:
        from messaging import selectors

        monkeypatch.setattr(selectors, "HOME_COUNT_CAP", 2)
        monkeypatch.setattr(selectors, "HOME_FAILED_CAP", 2)
        for _ in range(3):
            message = message_sent(author=personas.clinician, patient=personas.patient, files=[])
            Delivery.objects.filter(message=message).update(state=DeliveryState.FAILED)
            messaging_services.reply_send(
                actor=personas.patient,
                thread=message.thread,
                body="Thank you.",
                send_key=uuid.uuid4(),
            )
        page = home_of(client_for(personas.privacy_officer))
        assert "<strong>2 or more</strong> conversations with unread patient replies." in page
        assert "<strong>2 or more</strong> conversations where an e-mail notice failed." in page

    def test_a_clinician_has_no_request_queue(self, personas: Any, client_for: Any) -> None:
        assert 'data-testid="queue-requests"' not in home_of(client_for(personas.clinician))
