"""The message pages cost the same however many messages other patients have (issue 21):
the patient's message page, the care team's inbox in each of its views, a staff thread.
Same number of queries with and without twenty thousand other patients' messages, and
plans that start from the reader's own rows (EXPLAIN after ANALYZE), not from the table."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench.other_patients import notices_load
from messaging import selectors, services
from messaging.models import Delivery, Message, Thread
from tests.conftest import page_query_count
from tests.messaging.factories import crowd, message_sent

pytestmark = pytest.mark.django_db

VIEWS = selectors.INBOX_FILTERS
# Reading a whole table of messages, threads or notices, or hashing all of one for a
# subquery: what makes a page slower as other patients' messages pile up.
WHOLE_TABLE = re.compile(r"Seq Scan on messaging_(thread|message|delivery)\b|hashed SubPlan")


# Each care-team patient's threads looked up by an index that leads with the patient.
BY_TEAM_PATIENT = "Index Cond: (patient_id = accounts_careteammember.patient_id)"


def conversation(personas: Any) -> Thread:
    """A thread of the patient's: care-team messages (one with a file), replies, one
    assigned to the clinician and left open; and a handled one beside it."""
    first = message_sent(author=personas.clinician, patient=personas.patient)
    thread = first.thread
    for n in range(3):
        services.reply_send(
            actor=personas.patient, thread=thread, body=f"Reply {n}", send_key=uuid.uuid4()
        )
        message_sent(author=personas.clinician, patient=personas.patient, thread=thread, files=[])
    services.thread_assign(actor=personas.clinician, thread=thread, assignee=personas.clinician)
    handled = message_sent(author=personas.clinician, patient=personas.patient, files=[]).thread
    services.thread_mark_handled(actor=personas.clinician, thread=handled, handled=True)
    return thread


def inbox_filled(personas: Any) -> None:
    """A page and more of the patient's open threads, each with a reply unread, and as
    many handled, newer than
    what ``crowded`` loads: the privacy officer's first page shows these. (Other patients'
    rows copy a ciphertext no other row's key opens: a page cannot show them.)"""
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=True):
        for _ in range(selectors.INBOX_PAGE_SIZE + 1):
            thread = message_sent(
                author=personas.clinician, patient=personas.patient, files=[]
            ).thread
            services.reply_send(
                actor=personas.patient, thread=thread, body="Thanks", send_key=uuid.uuid4()
            )
            handled = message_sent(
                author=personas.clinician, patient=personas.patient, files=[]
            ).thread
            services.thread_mark_handled(actor=personas.clinician, thread=handled, handled=True)


def crowded(personas: Any) -> None:
    """Twenty thousand other patients' messages, with their notices (a few failed, a few
    letters to print), ANALYZEd."""
    crowd(personas)
    others = list(
        Thread.objects.exclude(patient=personas.patient).values_list("patient_id", flat=True)
    )
    assert notices_load(patients=sorted(set(others))) > 10_000


STAFF_THREAD_QUERIES = 12


def pages(personas: Any, thread: Thread) -> list[tuple[Any, str]]:
    """(reader, path) of each page."""
    inbox = reverse("messaging:inbox")
    return [
        (personas.patient, reverse("portal:thread", args=[thread.pk])),
        (personas.clinician, reverse("messaging:thread", args=[thread.pk])),
        *((personas.clinician, f"{inbox}?view={view}") for view in VIEWS),
        *((personas.privacy_officer, f"{inbox}?view={view}") for view in VIEWS),
    ]


def steady_count(client: Any, path: str) -> int:
    """The queries of a GET of ``path`` once a first GET did what a first one does (the
    patient's first opening, the care team's reading of new replies)."""
    client.get(path)
    return page_query_count(client, path)


def plans_of(run: Any) -> list[str]:
    """EXPLAIN of each read ``run`` makes of the messaging tables."""
    with CaptureQueriesContext(connection) as captured:
        run()
    plans = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if not sql.startswith("SELECT") or "FOR UPDATE" in sql or "messaging_" not in sql:
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


class TestQueryCounts:
    def test_each_page_costs_the_same_queries_with_many_other_patients(
        self, personas: Any, client_for: Any
    ) -> None:
        thread = conversation(personas)
        inbox_filled(personas)
        clients = {user.pk: client_for(user) for user, _ in pages(personas, thread)}

        def counts() -> list[int]:
            return [steady_count(clients[u.pk], path) for u, path in pages(personas, thread)]

        before = counts()
        crowded(personas)
        assert counts() == before
        assert max(before) <= 25, before

    def test_the_inbox_costs_the_same_queries_for_a_full_page(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.clinician)
        message_sent(author=personas.clinician, patient=personas.patient, files=[])
        few = page_query_count(client, reverse("messaging:inbox"))
        for _ in range(selectors.INBOX_PAGE_SIZE + 2):
            message_sent(author=personas.clinician, patient=personas.patient, files=[])
        page = client.get(reverse("messaging:inbox"))
        assert "?view=open&amp;page=2" in page.content.decode()
        assert page_query_count(client, reverse("messaging:inbox")) == few

    def test_a_thread_page_costs_the_same_queries_for_a_long_thread(
        self, personas: Any, client_for: Any
    ) -> None:
        thread = message_sent(author=personas.clinician, patient=personas.patient).thread
        staff, patient = client_for(personas.clinician), client_for(personas.patient)
        staff_url = reverse("messaging:thread", args=[thread.pk])
        patient_url = reverse("portal:thread", args=[thread.pk])
        short = [steady_count(staff, staff_url), steady_count(patient, patient_url)]
        for n in range(selectors.THREAD_PAGE_SIZE):
            message_sent(author=personas.clinician, patient=personas.patient, thread=thread)
            if n % 4 == 0:
                services.reply_send(
                    actor=personas.patient, thread=thread, body="Ok", send_key=uuid.uuid4()
                )
        long = [steady_count(staff, staff_url), steady_count(patient, patient_url)]
        assert long == short

    def test_the_staff_thread_page_costs_its_queries_and_no_more(
        self, personas: Any, client_for: Any
    ) -> None:
        """Two for the session, the thread, the view's audit event (BEGIN, INSERT, COMMIT),
        the delivery policy, the page of messages (count, rows, attachments, notices), the
        assignees and the patient's delivery facts: the reply permission asks nothing more
        (``policies.may_message_in``)."""
        thread = message_sent(author=personas.clinician, patient=personas.patient).thread
        staff_url = reverse("messaging:thread", args=[thread.pk])
        assert steady_count(client_for(personas.clinician), staff_url) == STAFF_THREAD_QUERIES


class TestTheInboxPage:
    def test_pages_follow_each_other_without_a_count(self, personas: Any, client_for: Any) -> None:
        for _ in range(selectors.INBOX_PAGE_SIZE + 1):
            message_sent(author=personas.clinician, patient=personas.patient, files=[])
        first = selectors.staff_inbox_page(user=personas.clinician, view="open", page=1)
        second = selectors.staff_inbox_page(user=personas.clinician, view="open", page="2")
        assert (len(first.object_list), first.has_next(), first.has_previous()) == (25, True, False)
        assert (len(second.object_list), second.has_next(), second.has_previous()) == (
            1,
            False,
            True,
        )
        assert not {t.pk for t in first.object_list} & {t.pk for t in second.object_list}
        text = client_for(personas.clinician).get(reverse("messaging:inbox")).content.decode()
        assert "Page 1<" in text and "Page 1 of" not in text

    def test_the_flags_of_a_thread_whose_notice_failed_or_waits_as_a_letter(
        self, personas: Any
    ) -> None:
        failed = message_sent(author=personas.clinician, patient=personas.patient, files=[])
        letter = message_sent(author=personas.clinician, patient=personas.patient, files=[])
        plain = message_sent(author=personas.clinician, patient=personas.patient, files=[])
        Delivery.objects.filter(message=failed).update(state="failed", failure="rejected")
        Delivery.objects.filter(message=letter).update(channel="letter", state="pending")
        Delivery.objects.filter(message=plain).update(state="sent")
        for user in (personas.clinician, personas.privacy_officer):
            page = selectors.staff_inbox_page(user=user, view="all")
            flags = {t.pk: (t.notice_failed, t.letter_to_print) for t in page.object_list}  # type: ignore[attr-defined]
            assert flags == {
                failed.thread_id: (True, False),
                letter.thread_id: (False, True),
                plain.thread_id: (False, False),
            }

    def test_a_clinician_sees_their_care_teams_threads_only_in_each_view(
        self, personas: Any
    ) -> None:
        thread = conversation(personas)
        message_sent(author=personas.records_clerk, patient=personas.other_patient, files=[])
        shown = {
            view: {
                t.pk
                for t in selectors.staff_inbox_page(user=personas.clinician, view=view).object_list
            }
            for view in VIEWS
        }
        ours = set(Thread.objects.filter(patient=personas.patient).values_list("pk", flat=True))
        assert shown["all"] == ours and thread.pk in shown["mine"] and thread.pk in shown["open"]
        assert thread.pk not in shown["handled"] and thread.pk not in shown["unassigned"]


def inbox_page(user: Any, view: str) -> Any:
    return lambda: selectors.staff_inbox_page(user=user, view=view)


class TestWithManyOtherPatientsMessages:
    @pytest.mark.parametrize("view", VIEWS)
    def test_a_clinicians_inbox_starts_from_their_care_team(self, personas: Any, view: str) -> None:
        conversation(personas)
        crowded(personas)
        plans = plans_of(inbox_page(personas.clinician, view))
        assert 1 <= len(plans) <= 3, plans
        for plan in plans:
            assert not WHOLE_TABLE.search(plan), plan
        if view != "mine":  # each patient's threads by an index that leads with the patient
            assert BY_TEAM_PATIENT in plans[0] and "on messaging_thread u0" in plans[0]

    @pytest.mark.parametrize(
        ("view", "index"),
        [
            ("open", "messaging_thread_open"),
            ("mine", "messaging_thread_assigned"),
            ("unassigned", "messaging_thread_open"),
            ("handled", "messaging_thread_inbox"),
            ("all", "messaging_thread_inbox"),
        ],
    )
    def test_the_officers_inbox_reads_its_page_in_order_by_index(
        self, personas: Any, view: str, index: str
    ) -> None:
        conversation(personas)
        crowded(personas)
        plans = plans_of(inbox_page(personas.privacy_officer, view))
        for plan in plans:
            assert not WHOLE_TABLE.search(plan), plan
        assert f"Index Scan using {index} on messaging_thread" in plans[0], plans[0]
        assert "Sort" not in plans[0], plans[0]

    def test_the_thread_pages_read_the_threads_own_rows(
        self, personas: Any, client_for: Any
    ) -> None:
        thread = conversation(personas)
        crowded(personas)
        for user, path in pages(personas, thread)[:2]:
            client = client_for(user)
            plans = plans_of(lambda client=client, path=path: client.get(path))
            assert plans
            for plan in plans:
                assert not WHOLE_TABLE.search(plan), plan
            assert any("messaging_message_page on messaging_message" in p for p in plans), plans

    def test_the_staff_thread_reads_openings_from_the_messages(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient, files=[])
        services.message_open(actor=personas.patient, message=message)
        assert Message.objects.get(pk=message.pk).opened_at is not None
        url = reverse("messaging:thread", args=[message.thread_id])
        with CaptureQueriesContext(connection) as captured:
            page = client_for(personas.clinician).get(url).content.decode()
        assert "Opened by the patient" in page and "Not opened yet." not in page
        # No attachment on the page: the audit log is not read for receipts.
        first_times = 'MIN("audit_auditevent"."occurred_at")'
        assert not any(first_times in q["sql"] for q in captured.captured_queries)
