"""The message pages that must stay fast at any size (issue 21): the patient's message page,
the care team's inbox (each of its views) and a staff thread.

``staff_pages_setup()`` makes the people and data and returns ``{name: (session cookie,
path)}`` for each page, for a load generator (``bench/portal_bench.py``'s gunicorn runs).

Run as a script, it measures each page in process (the test client, median of
``BENCH_GETS`` GETs), counts its queries, and with ``BENCH_EXPLAIN=1`` prints EXPLAIN
ANALYZE of each query. Other patients' messages are topped up to ``BENCH_OTHER_MESSAGES``
first (``bench/other_patients.py``) and kept: run it against one database holding 10,000
and another holding 1,000,000 to compare sizes.

The people: a clinician on the bench patient's care team (a colleague is on the other
patients' teams), the patient with ``THREADS`` threads, the newest of which (the one
measured) holds ``THREAD_MESSAGES`` messages, some replies unread by staff; some threads
assigned to the clinician and some handled, so each inbox view has rows.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("APP_MODE", "test")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import (  # noqa: E402
    AuthenticatorApp,
    CareTeamMember,
    IdentityMethod,
    PatientProfile,
    Role,
    User,
)
from audit.context import system_actor  # noqa: E402
from bench.other_patients import messages_load, notices_load  # noqa: E402
from core.sessions import SESSION_AUTH_AT, SESSION_LAST_SEEN, SESSION_OTP_AT, now_ts  # noqa: E402
from messaging import services  # noqa: E402
from messaging.models import Message, Thread  # noqa: E402

THREADS = 60
THREAD_MESSAGES = 30
OTHER_PATIENTS = 200
RUN = uuid.uuid4().hex[:8]


def _user(kind: str, role: str, **extra: Any) -> User:
    user = User.objects.create_user(
        email=f"{kind}.{RUN}@bench.example.test",
        full_name=f"Bench {kind.capitalize()}",
        role=role,
        **extra,
    )
    AuthenticatorApp.objects.create(user=user, name="bench", confirmed=True)
    return user


def _patient(kind: str, clerk: User) -> User:
    patient = _user(kind, Role.PATIENT, email_verified_at=timezone.now())
    PatientProfile.objects.create(
        user=patient,
        legal_name=f"Bench {kind.capitalize()}",
        date_of_birth=date(1970, 1, 1),
        mrn=f"B-{kind}-{RUN}",
        identity_verified_by=clerk,
        identity_method=IdentityMethod.PHOTO_ID_IN_PERSON,
        identity_verified_at=timezone.now(),
    )
    return patient


def _sent(author: User, patient: User, thread: Thread | None, n: int) -> Message:
    return services.message_compose(
        actor=author,
        draft=services.Draft(
            send_key=uuid.uuid4(),
            patient=patient,
            subject=f"Follow-up {n}",
            body=f"Message {n}: please **book** a follow-up visit.",
            category="clinical",
            thread=thread,
        ),
        attachments=[],
        send=True,
    )


def session_cookie(user: User) -> tuple[Client, str]:
    """A session as after password and second factor."""
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    session = client.session
    session[SESSION_AUTH_AT] = session[SESSION_LAST_SEEN] = now_ts()
    session["otp_device_id"] = AuthenticatorApp.objects.get(user=user).persistent_id
    session[SESSION_OTP_AT] = now_ts()
    session.save()
    return client, f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def people() -> dict[str, User]:
    clerk = _user("clerk", Role.RECORDS_CLERK)
    clinician = _user("clinician", Role.CLINICIAN)
    colleague = _user("colleague", Role.CLINICIAN)
    officer = _user("officer", Role.PRIVACY_OFFICER)
    patient = _patient("patient", clerk)
    CareTeamMember.objects.create(patient=patient, staff=clinician)
    return {
        "clerk": clerk,
        "clinician": clinician,
        "colleague": colleague,
        "officer": officer,
        "patient": patient,
    }


def threads_made(who: dict[str, User]) -> Thread:
    """The patient's threads; returns the one measured (the newest, the longest)."""
    clinician, patient = who["clinician"], who["patient"]
    with system_actor("bench:staff_pages"):
        for n in range(THREADS - 1):
            message = _sent(clinician, patient, None, n)
            thread = message.thread
            if n % 3 == 0:
                services.reply_send(
                    actor=patient, thread=thread, body="Thank you.", send_key=uuid.uuid4()
                )
            if n % 4 == 0:
                Thread.objects.filter(pk=thread.pk).update(assigned_to=clinician)
            if n % 5 == 0:
                Thread.objects.filter(pk=thread.pk).update(handled_at=timezone.now())
        first = _sent(clinician, patient, None, THREADS)
        thread = first.thread
        for n in range(1, THREAD_MESSAGES):
            if n % 3 == 0:
                services.reply_send(
                    actor=patient, thread=thread, body=f"Reply {n}.", send_key=uuid.uuid4()
                )
            else:
                _sent(clinician, patient, thread, n)
    return thread


def others_topped_up(who: dict[str, User], to: int) -> int:
    """Other patients' messages in the table: at least ``to``. Returns how many there are."""
    there = Message.objects.exclude(thread__patient=who["patient"]).count()
    if there >= to:
        return there
    others = [_patient(f"other{i}", who["clerk"]) for i in range(OTHER_PATIENTS)]
    CareTeamMember.objects.bulk_create(
        CareTeamMember(patient=p, staff=who["colleague"]) for p in others
    )
    with system_actor("bench:staff_pages"):
        sample = _sent(who["colleague"], others[0], None, 0)
    started = time.perf_counter()
    loaded = messages_load(sample=sample, patients=[p.pk for p in others], count=to - there - 1)
    print(f"  loaded {loaded:,} other patients' messages in {time.perf_counter() - started:.0f}s")
    notices = notices_load(patients=[p.pk for p in others])
    print(f"  and {notices:,} notices in {time.perf_counter() - started:.0f}s")
    return there + 1 + loaded


def staff_pages_setup() -> dict[str, tuple[str, str]]:
    """The pages, each as (the session cookie of whoever reads it, the path)."""
    return {name: (cookie, path) for name, (_, cookie, path) in _pages(people()).items()}


def _pages(who: dict[str, User]) -> dict[str, tuple[Client, str, str]]:
    thread = threads_made(who)
    patient, patient_cookie = session_cookie(who["patient"])
    clinician, clinician_cookie = session_cookie(who["clinician"])
    officer, officer_cookie = session_cookie(who["officer"])
    pages = {
        "portal message": (patient, patient_cookie, f"/portal/messages/{thread.pk}/"),
        "staff thread": (clinician, clinician_cookie, f"/messages/threads/{thread.pk}/"),
    }
    for view in ("open", "mine", "unassigned", "handled", "all"):
        pages[f"staff inbox {view}"] = (clinician, clinician_cookie, f"/messages/?view={view}")
    pages["staff inbox open p2"] = (clinician, clinician_cookie, "/messages/?view=open&page=2")
    pages["officer inbox open"] = (officer, officer_cookie, "/messages/?view=open")
    pages["officer inbox all"] = (officer, officer_cookie, "/messages/?view=all")
    return pages


def explain(sql: str) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def main() -> None:
    gets = int(os.environ.get("BENCH_GETS", "200"))
    only = os.environ.get("BENCH_PAGES", "")
    who = people()
    there = others_topped_up(who, int(os.environ.get("BENCH_OTHER_MESSAGES", "10000")))
    pages = _pages(who)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"other patients' messages: {there:,}; {gets} GETs each, median")
    for name, (client, _, path) in pages.items():
        if only and not any(word in name for word in only.split(",")):
            continue
        client.get(path)
        connection.queries_log.clear()  # full (9,000) after the setup: nothing would count
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        queries = list(captured.captured_queries)
        assert response.status_code == 200, (name, response.status_code)
        times = []
        for _ in range(gets):
            started = time.perf_counter()
            client.get(path)
            times.append(time.perf_counter() - started)
        ms = statistics.median(times) * 1000
        print(f"  {name:<24}{ms:>8.2f} ms{len(queries):>5} queries")
        if os.environ.get("BENCH_EXPLAIN") == "1":
            for query in queries:
                sql = query["sql"]
                if not sql.lstrip().upper().startswith("SELECT") or "FOR UPDATE" in sql:
                    continue
                plan = explain(sql)
                last = plan.splitlines()[-1]
                flags = [w for w in ("Seq Scan", "hashed SubPlan") if w in plan]
                print(f"    {query['time']}s {last} {flags} :: {sql[:160]}")
                if os.environ.get("BENCH_PLANS") == "1" or flags:
                    print("      " + plan.replace("\n", "\n      "))


if __name__ == "__main__":
    main()
