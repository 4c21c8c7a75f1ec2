"""Record-request queue benchmark: the clerk's queue page with 100,000 requests in the table.

Run by ``make bench`` (or ``.venv/bin/python bench/records_queue.py``); not a test.

Seeds ``BENCH_REQUESTS`` (default 100,000) requests once into the bench database (a run
finding that many already there reuses them): received over the last four years, 95%
closed (fulfilled, most on time), 5% open with due dates around today, over 500
patients. Then, in the same process and the same run:

* the queue page (``records:queue``, default view: open requests, soonest due first,
  25 per page, with the due-soon and overdue counts and the 12-week chart) through
  Django's test client as a signed-in records clerk, ``BENCH_ROUNDS`` times (default 50)
  after a warm-up: median and p95 milliseconds, and its query count;
* a bare indexed query: the same first page of open requests (id and due date) from the
  partial index on open requests' due dates, the same number of times;

and prints the ratio (page time / bare query time) and the query count. No target is
set by the issue; the figures are for the note.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import IdentityMethod, PatientProfile, Role, User  # noqa: E402
from audit.context import system_actor  # noqa: E402
from encryption.services import data_keys_create  # noqa: E402
from records import deadlines  # noqa: E402
from records.models import OPEN_STATES, RecordRequest, RequestState  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "50"))
PATIENTS = 500
BATCH = 5000
TAG = "queue-bench"


def _staff(email: str, role: str) -> User:
    from accounts.models import AuthenticatorApp

    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=None, full_name="Bench Clerk", role=role
        )
        AuthenticatorApp.objects.create(user=user, name="bench", confirmed=True)
    return user


def _patients(clerk: User) -> list[User]:
    existing = list(User.objects.filter(email__startswith=f"{TAG}-patient-"))
    if len(existing) >= PATIENTS:
        return existing[:PATIENTS]
    now = timezone.now()
    users = User.objects.bulk_create(
        User(
            email=f"{TAG}-patient-{i}@bench.test",
            full_name=f"Bench Patient {i}",
            role=Role.PATIENT,
            email_verified_at=now,
        )
        for i in range(len(existing), PATIENTS)
    )
    PatientProfile.objects.bulk_create(
        PatientProfile(
            user=u,
            legal_name=u.full_name,
            date_of_birth=now.date() - timedelta(days=365 * 40),
            mrn=f"QB-{u.pk}",
            identity_verified_by=clerk,
            identity_method=IdentityMethod.PHOTO_ID_IN_PERSON,
            identity_verified_at=now,
        )
        for u in users
    )
    return existing + users


def _seed(clerk: User) -> None:
    have = RecordRequest.objects.filter(recorded_by=clerk).count()
    if have >= REQUESTS:
        print(f"seed: {have:,} requests already in the table", flush=True)
        return
    patients = _patients(clerk)
    rng = random.Random(7)
    now = timezone.now()
    started = time.perf_counter()
    for start in range(have, REQUESTS, BATCH):
        size = min(BATCH, REQUESTS - start)
        keys = data_keys_create(count=size)
        rows = []
        for key in keys:
            is_open = rng.random() < 0.05
            if is_open:
                received = now - timedelta(days=rng.uniform(0, 40))
            else:
                received = now - timedelta(days=rng.uniform(35, 4 * 365))
            due = deadlines.due_at_for(received)
            row = RecordRequest(
                data_key=key,
                patient=rng.choice(patients),
                received_at=received,
                arrived_by="portal",
                recorded_by=clerk,
                categories=["lab_results"],
                deliver_to="portal",
                due_at=due,
                original_due_at=due,
                state=rng.choice([RequestState.RECEIVED, RequestState.VERIFIED])
                if is_open
                else RequestState.FULFILLED,
            )
            if not is_open:
                row.verified_at = received + timedelta(days=1)
                row.verified_by = clerk
                row.closed_at = received + timedelta(days=rng.uniform(2, 33))
            elif row.state == RequestState.VERIFIED:
                row.verified_at, row.verified_by = received + timedelta(hours=2), clerk
            rows.append(row)
        RecordRequest.objects.bulk_create(rows)
    connection.cursor().execute("ANALYZE records_recordrequest")
    _weeks_count()
    print(
        f"seed: {REQUESTS - have:,} requests in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def _weeks_count() -> None:
    """The chart's weekly counts, which the services keep and bulk_create does not: counted
    again from the requests, as migration records.0004 did."""
    import importlib

    from django.apps import apps

    from records.models import RequestWeek

    RequestWeek.objects.all().delete()
    importlib.import_module("records.migrations.0004_request_weeks").weeks_count(apps, None)


def _client(user: User) -> Client:
    from tests.conftest import sign_in_client

    return sign_in_client(Client(), user)


def _timed(call: object, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return times


def _bare() -> list[object]:
    return list(
        RecordRequest.objects.filter(state__in=OPEN_STATES)
        .order_by("due_at")
        .values_list("id", "due_at")[:25]
    )


def main() -> int:
    with system_actor("bench:records_queue"):
        clerk = _staff(f"{TAG}-clerk@bench.test", Role.RECORDS_CLERK)
        _seed(clerk)
    total = RecordRequest.objects.count()
    open_count = RecordRequest.objects.filter(state__in=OPEN_STATES).count()
    client = _client(clerk)
    url = reverse("records:queue")

    def page() -> None:
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    for _ in range(5):
        page()
        _bare()
    queries: list[str] = []

    def counting(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counting):
        page()
    page_ms = _timed(page, ROUNDS)
    bare_ms = _timed(_bare, ROUNDS)
    with connection.cursor() as cursor:
        sql, params = (
            RecordRequest.objects.filter(state__in=OPEN_STATES)
            .order_by("due_at")
            .values_list("id", "due_at")[:25]
            .query.sql_with_params()
        )
        cursor.execute("EXPLAIN " + sql, params)
        plan = " ".join(row[0] for row in cursor.fetchall())
    page_median, bare_median = statistics.median(page_ms), statistics.median(bare_ms)
    print(f"table: {total:,} requests, {open_count:,} open")
    print(f"queue page: {len(queries)} queries")
    print(
        f"queue page:  median {page_median:.2f} ms, p95 "
        f"{statistics.quantiles(page_ms, n=20)[-1]:.2f} ms ({ROUNDS} rounds)"
    )
    print(
        f"bare query:  median {bare_median:.3f} ms, p95 "
        f"{statistics.quantiles(bare_ms, n=20)[-1]:.3f} ms "
        f"({'index' if 'records_request_open_due' in plan else 'NO INDEX: ' + plan})"
    )
    print(f"ratio (page / bare query): {page_median / bare_median:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
