"""The clerk's queue reads what it shows, however many requests pile up: with twenty
thousand other patients' requests loaded (and ANALYZEd), every view reads an index in
the queue's order, counts at most 10,000, draws the chart from twelve weekly rows, and
costs the same queries as with none."""

from __future__ import annotations

import importlib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from bench.other_requests import requests_load
from records import selectors, services, weeks
from records.models import RecordRequest, RequestWeek
from tests.conftest import page_query_count
from tests.plans import full_reads, page_plans
from tests.records.factories import request_received

pytestmark = pytest.mark.django_db

QUEUE = reverse("records:queue")
VIEWS = ["", "?view=due_soon", "?view=overdue", "?view=closed", "?view=all", "?assignee=me"]
OTHER_REQUESTS = 20_000
BIG = ("records_recordrequest",)


def crowd(personas: Any) -> RecordRequest:
    """``OTHER_REQUESTS`` requests of twenty other patients (200 open), then ANALYZE."""
    others = [personas.other_patient.pk] + [
        User.objects.create_user(
            email=f"crowd.{i}@mail.test", full_name=f"Crowd {i}", role=Role.PATIENT
        ).pk
        for i in range(19)
    ]
    sample = request_received(patient=personas.other_patient)
    assert requests_load(sample=sample, patients=others, count=OTHER_REQUESTS) == OTHER_REQUESTS
    return sample


class TestWithManyOtherPatientsRequests:
    def test_no_view_reads_or_counts_the_whole_table(self, personas: Any, client_for: Any) -> None:
        crowd(personas)
        client = client_for(personas.records_clerk)
        for view in VIEWS:
            plans = page_plans(client, QUEUE + view)
            assert not full_reads(plans, BIG, partial=("records_request_open_due",)), view

    def test_each_view_reads_an_index_in_the_queues_order(self, personas: Any) -> None:
        crowd(personas)
        for view, index in [
            ("open", "records_request_open_due"),
            ("due_soon", "records_request_open_due"),
            ("overdue", "records_request_open_due"),
            ("closed", "records_request_due"),
            ("all", "records_request_due"),
        ]:
            queryset = selectors.queue(user=personas.records_clerk, view=view)
            plan = str(queryset[:25].explain())
            assert f"using {index} on records_recordrequest" in plan, (view, plan)
            if index == "records_request_due":
                # Read in order and stopped after a page, never every request sorted (the
                # open views sort at most the open requests the partial index holds).
                assert not re.search(r"(^|->  )Sort  \(", plan, re.M), (view, plan)

    def test_a_long_view_says_more_than_ten_thousand(self, personas: Any, client_for: Any) -> None:
        crowd(personas)
        client = client_for(personas.records_clerk)
        text = client.get(QUEUE + "?view=all").content.decode()
        assert "More than 10,000 requests in this view" in text
        assert "Page 1 of 400" in text
        # The open view is short: its count is exact (200 loaded and the sample).
        assert "201 requests in this view." in client.get(QUEUE).content.decode()

    def test_the_views_cost_the_same_queries(self, personas: Any, client_for: Any) -> None:
        now = timezone.now()
        for days in (0, 25, 40):  # one in each view: open, due soon, overdue, closed
            request_received(patient=personas.patient, received_at=now - timedelta(days=days))
        withdrawn = request_received(patient=personas.patient)
        services.request_withdraw(actor=personas.patient, request=withdrawn)
        client = client_for(personas.records_clerk)
        before = [page_query_count(client, QUEUE + view) for view in VIEWS]
        crowd(personas)
        assert [page_query_count(client, QUEUE + view) for view in VIEWS] == before


class TestTheWeeklyCounts:
    def chart(self, user: User) -> list[tuple[int, int, int]]:
        return [(w.received, w.fulfilled, w.on_time) for w in selectors.weekly_chart(user=user)]

    def test_the_load_counts_its_requests_as_the_services_do(self, personas: Any) -> None:
        crowd(personas)
        # Every request of the last twelve weeks, counted from the requests themselves.
        since = timezone.now() - timedelta(weeks=13)
        expected: dict[Any, list[int]] = {}
        for req in RecordRequest.objects.filter(received_at__gte=since):
            expected.setdefault(weeks.week_of(req.received_at), [0, 0, 0])[0] += 1
        for closed, due in RecordRequest.objects.filter(closed_at__gte=since).values_list(
            "closed_at", "due_at"
        ):
            assert closed is not None
            counts = expected.setdefault(weeks.week_of(closed), [0, 0, 0])
            counts[1] += 1
            counts[2] += closed < due
        shown = selectors.weekly_chart(user=personas.records_clerk)
        assert [[w.received, w.fulfilled, w.on_time] for w in shown] == [
            expected.get(w.starts, [0, 0, 0]) for w in shown
        ]
        assert sum(w.received for w in shown) > 500

    def test_the_migration_counts_the_requests_there_were(self, personas: Any) -> None:
        crowd(personas)
        before = self.chart(personas.records_clerk)
        RequestWeek.objects.all().delete()
        assert self.chart(personas.records_clerk) != before
        migration = importlib.import_module("records.migrations.0004_request_weeks")
        migration.weeks_count(apps, None)
        assert self.chart(personas.records_clerk) == before

    def test_only_the_queues_people_see_the_chart(self, personas: Any) -> None:
        crowd(personas)
        for user in (personas.clinician, personas.patient):
            assert self.chart(user) == [(0, 0, 0)] * 12
