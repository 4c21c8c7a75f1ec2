"""The privacy officer's search reads one page from an index, however long the log: with
twenty thousand events about other patients loaded (and ANALYZEd), the newest page, a
search by patient, by actor and by dates each read an index in the page's order, sort
nothing and count nothing, and cost the same queries as with a few events."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from audit import selectors
from audit.models import AuditEvent
from bench.other_audit import events_load
from tests.conftest import page_query_count
from tests.plans import full_reads, page_plans

pytestmark = pytest.mark.django_db

SEARCH = reverse("audit:search")
OTHER_EVENTS = 20_000


def crowd(personas: Any, count: int = OTHER_EVENTS) -> None:
    """``count`` events over the last two years by two hundred staff members (the
    clinician and the clerk among them) about two thousand patients (the unrelated
    persona among them), then ANALYZE. The others are ids alone: the log copies ids
    and keeps no reference to the accounts."""
    patients = [personas.other_patient.pk, *range(10**9, 10**9 + 1999)]
    staff = [
        (personas.clinician.pk, "clinician", "clinician"),
        (personas.records_clerk.pk, "records_clerk", "records clerk"),
        *((10**9 + i, "clinician", "clinician") for i in range(198)),
    ]
    assert events_load(actors=staff, patients=patients, count=count) == count


def searches(personas: Any) -> dict[str, str]:
    today = timezone.localdate()
    return {
        "newest": SEARCH,
        "patient": f"{SEARCH}?patient_id={personas.other_patient.pk}",
        "actor": f"{SEARCH}?actor_id={personas.clinician.pk}",
        "last week": f"{SEARCH}?"
        + urlencode({"date_from": today - timedelta(days=7), "date_to": today}),
        "a year ago": f"{SEARCH}?"
        + urlencode(
            {"date_from": today - timedelta(days=400), "date_to": today - timedelta(days=340)}
        ),
    }


INDEXES = {
    "newest": "audit_auditevent_pkey",
    "patient": "audit_patient_idx",
    "actor": "audit_actor_idx",
    "last week": "audit_occurred_idx",
    "a year ago": "audit_occurred_idx",
}


class TestWithManyOtherPatientsEvents:
    def test_each_search_reads_its_index_and_sorts_no_range_of_the_log(
        self, personas: Any, client_for: Any
    ) -> None:
        crowd(personas)
        client = client_for(personas.privacy_officer)
        for name, url in searches(personas).items():
            plans = page_plans(client, url)
            assert not full_reads(plans, ("audit_auditevent",)), name
            [plan] = [p for p in plans if p.startswith('SELECT "audit_auditevent"."id"')]
            assert INDEXES[name] in plan, (name, plan)
            if name not in ("patient", "actor"):  # those may sort the person's few events
                assert not re.search(r"(^|->  )Sort  \(", plan, re.M), (name, plan)

    def test_the_searches_cost_the_same_queries(self, personas: Any, client_for: Any) -> None:
        crowd(personas, count=2000)  # each search finds some
        client = client_for(personas.privacy_officer)
        urls = searches(personas)
        before = {name: page_query_count(client, url) for name, url in urls.items()}
        crowd(personas)
        assert {name: page_query_count(client, url) for name, url in urls.items()} == before


class TestPagingByDate:
    def test_older_pages_follow_the_time_without_a_gap_or_a_repeat(self, personas: Any) -> None:
        crowd(personas)
        today = timezone.localdate()
        start = today - timedelta(days=30)
        filters = selectors.EventFilters(date_from=start, date_to=today)
        expected = list(
            AuditEvent.objects.filter(occurred_at__date__gte=start)
            .order_by("-occurred_at", "-id")
            .values_list("pk", flat=True)
        )
        assert len(expected) > 500
        shown: list[int] = []
        before = None
        while True:
            page = selectors.events_search(
                user=personas.privacy_officer, filters=filters, before=before, page_size=200
            )
            shown += [e.pk for e in page.events]
            if page.older_than is None:
                break
            before = page.older_than
        assert shown == expected
