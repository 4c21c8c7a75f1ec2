"""The inbox marks kept on the thread (the patient's "new", the care team's unread count)
agree with the messages after every change, and the inboxes read those marks, not every
message in the table, however many other patients' messages pile up."""

from __future__ import annotations

import importlib
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from messaging import selectors, services
from messaging.models import UNREAD_FOREVER, Message, Thread
from tests.conftest import page_query_count
from tests.messaging.factories import crowd, message_sent
from tests.retention.factories import purge, years_later

pytestmark = pytest.mark.django_db

NEW = 'unread-label">New<'


def mark(message: Message) -> datetime | None:
    return Thread.objects.values_list("patient_unread_until", flat=True).get(pk=message.thread_id)


def staff_unread(message: Message) -> int:
    return Thread.objects.values_list("staff_unread", flat=True).get(pk=message.thread_id)


def inbox_of(client_for: Any, user: User) -> str:
    page = client_for(user).get(reverse("portal:inbox"))
    assert page.status_code == 200
    return str(page.content.decode())


def sent(personas: Any, **extra: Any) -> Message:
    return message_sent(author=personas.clinician, patient=personas.patient, files=[], **extra)


class TestThePatientsNewMark:
    def test_a_sent_message_marks_its_thread_new(self, personas: Any, client_for: Any) -> None:
        message = sent(personas)
        assert mark(message) == UNREAD_FOREVER
        assert NEW in inbox_of(client_for, personas.patient)

    def test_a_message_that_expires_marks_it_until_then(
        self, personas: Any, client_for: Any
    ) -> None:
        expires = timezone.now() + timedelta(days=1)
        message = sent(personas, expires_at=expires)
        assert mark(message) == expires
        with time_machine.travel(expires + timedelta(minutes=1)):
            assert NEW not in inbox_of(client_for, personas.patient)

    def test_an_expired_message_leaves_the_mark_of_one_that_does_not_expire(
        self, personas: Any, client_for: Any
    ) -> None:
        first = sent(personas, expires_at=timezone.now() + timedelta(days=1))
        sent(personas, thread=first.thread)
        assert mark(first) == UNREAD_FOREVER
        with time_machine.travel(timezone.now() + timedelta(days=2)):
            assert NEW in inbox_of(client_for, personas.patient)

    def test_a_saved_draft_marks_its_thread_when_it_is_sent(self, personas: Any) -> None:
        draft = sent(personas, send=False)
        assert mark(draft) is None
        expires = timezone.now() + timedelta(days=3)
        message = sent(personas, send_key=draft.send_key, expires_at=expires)
        assert message.pk == draft.pk and mark(message) == expires

    def test_opening_the_thread_clears_the_mark(self, personas: Any, client_for: Any) -> None:
        message = sent(personas)
        client_for(personas.patient).get(reverse("portal:thread", args=[message.thread_id]))
        assert mark(message) is None
        assert NEW not in inbox_of(client_for, personas.patient)

    def test_opening_one_of_two_new_messages_keeps_the_mark(self, personas: Any) -> None:
        first = sent(personas)
        second = sent(personas, thread=first.thread, expires_at=timezone.now() + timedelta(days=1))
        services.message_open(actor=personas.patient, message=first)
        assert mark(first) == second.expires_at

    def test_a_recall_clears_the_mark(self, personas: Any, client_for: Any) -> None:
        message = sent(personas)
        services.message_recall(actor=personas.clinician, message=message)
        assert mark(message) is None
        assert NEW not in inbox_of(client_for, personas.patient)

    def test_a_bulk_send_marks_each_new_thread(self, personas: Any) -> None:
        items = [
            services.BulkItem(
                send_key=uuid.uuid4(),
                patient=personas.patient,
                subject="Flu clinic",
                body="Book a slot.",
                category="administrative",
            )
        ]
        [message] = services.messages_send_bulk(actor=personas.clinician, items=items)
        assert mark(message) == UNREAD_FOREVER

    def test_an_erased_message_no_longer_counts_as_new(self, personas: Any) -> None:
        message = sent(personas)
        purge(years_later(10, days=1))
        assert mark(message) is None

    def test_the_migration_computes_the_marks_of_existing_threads(self, personas: Any) -> None:
        unopened, opened = sent(personas), sent(personas)
        services.message_open(actor=personas.patient, message=opened)
        services.reply_send(
            actor=personas.patient, thread=opened.thread, body="Thanks", send_key=uuid.uuid4()
        )
        Thread.objects.update(patient_unread_until=None, staff_unread=0)
        migration = importlib.import_module("messaging.migrations.0009_thread_unread_marks")
        migration.marks_compute(apps, None)
        assert (mark(unopened), mark(opened)) == (UNREAD_FOREVER, None)
        assert (staff_unread(unopened), staff_unread(opened)) == (0, 1)


class TestTheCareTeamsUnreadCount:
    def test_replies_count_until_someone_on_the_team_opens_the_thread(
        self, personas: Any, client_for: Any
    ) -> None:
        message = sent(personas)
        for _ in range(2):
            services.reply_send(
                actor=personas.patient, thread=message.thread, body="Thanks", send_key=uuid.uuid4()
            )
        client = client_for(personas.clinician)
        assert "2 unread" in client.get(reverse("messaging:inbox")).content.decode()
        client.get(reverse("messaging:thread", args=[message.thread_id]))
        assert staff_unread(message) == 0
        assert "unread</span>" not in client.get(reverse("messaging:inbox")).content.decode()


def plan_of(queryset: Any) -> str:
    return str(queryset[:20].explain())


# The planner may take any index that leads with the patient (ours, the staff inbox's
# ``messaging_thread_team``, or the foreign key's own); what matters is that it starts from
# this patient's threads.
BY_PATIENT = re.compile(
    r"Index (Only )?Scan using messaging_thread_(patient\w*|team) on messaging_thread"
)


class TestWithManyOtherPatientsMessages:
    def test_the_patients_inbox_reads_only_their_threads(self, personas: Any) -> None:
        sent(personas)
        crowd(personas)
        plan = plan_of(selectors.patient_inbox(user=personas.patient))
        assert BY_PATIENT.search(plan), plan
        assert "Seq Scan on messaging_message" not in plan, plan
        assert "hashed SubPlan" not in plan and "messaging_message_unopened" not in plan, plan

    def test_the_staff_inbox_reads_open_threads_in_order_by_index(self, personas: Any) -> None:
        sent(personas)
        crowd(personas)
        plan = plan_of(selectors.staff_inbox(user=personas.privacy_officer))
        assert "messaging_thread_open on messaging_thread" in plan, plan
        assert "Seq Scan on messaging_message" not in plan, plan

    def test_the_inbox_pages_cost_the_same_queries(self, personas: Any, client_for: Any) -> None:
        sent(personas)
        # The clinician's inbox, whose care team does not include the other patients (the
        # loaded rows copy a ciphertext that no other row's key opens).
        patient, clinician = client_for(personas.patient), client_for(personas.clinician)
        before = [
            page_query_count(patient, reverse("portal:inbox")),
            page_query_count(clinician, reverse("messaging:inbox")),
        ]
        crowd(personas)
        after = [
            page_query_count(patient, reverse("portal:inbox")),
            page_query_count(clinician, reverse("messaging:inbox")),
        ]
        assert after == before


class TestASendKeepsWhatOthersWroteMeanwhile:
    def test_a_staff_send_in_a_thread_read_before_the_patients_reply_keeps_its_count(
        self, personas: Any, client_for: Any
    ) -> None:
        first = sent(personas)
        stale = Thread.objects.get(pk=first.thread_id)  # the thread as the composer read it
        services.reply_send(
            actor=personas.patient, thread=first.thread, body="Thanks", send_key=uuid.uuid4()
        )
        sent(personas, thread=stale)
        assert staff_unread(first) == 1
        # Reading it clears the count, instead of refusing a count below zero (a 500).
        page = client_for(personas.clinician).get(reverse("messaging:thread", args=[stale.pk]))
        assert page.status_code == 200
        assert staff_unread(first) == 0
