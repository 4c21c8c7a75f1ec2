"""The signed-in pages under load, against a bare Django view, and constant with size.

Issue 21's targets, all as ratios measured in the same run:

* the signed-in home page (a patient's) >= 0.40 of the bare view's requests/s
  (``bench/baseline_app.py``: one query, one template);
* every other page below >= 0.5 of the home page's requests/s, with p99 <= 3 x its p50;
* each page "constant with size": its p50 with ``BENCH_OTHER_LARGE`` (1,000,000) rows of
  *other* patients in the big tables within 1.2 x its p50 with ``BENCH_OTHER_SMALL``
  (10,000).

Two databases, so both sizes are measured side by side in one run: ``<bench db>_pages``
(re-made each run from a migrated template, then loaded with the small size) and
``<bench db>_pages_1m`` (kept between runs, because loading a million rows into each big
table takes minutes and audit events cannot be deleted; made the first time, migrated and
topped up on later runs; ``BENCH_REBUILD_LARGE=1`` makes it again). Each is prepared by a
child process of this script (``--prepare``), which creates the personas (a patient with
``BENCH_PORTAL_MESSAGES`` messages from their clinician, a records clerk, a privacy
officer, every one with a confirmed authenticator and, for staff, the workforce policy
acknowledged), loads the other patients' rows (messages: ``bench/other_patients.py``;
record requests and audit events: ``bench/other_requests.py``, ``bench/other_audit.py``)
with bulk SQL, not through the services, runs ANALYZE, counts each page's queries and times
each page in process (test client, median of ``IN_PROCESS`` GETs), and prints JSON.

Then gunicorn (2 sync workers) serves the bare view and the portal on each database, and
the closed-loop client of ``http_bench`` (4 clients) loads every page in turn, A B A B,
``ROUNDS`` times. Prints requests/s, p50, p99, queries, the ratios and PASS or MISS for
each target; exits 1 if any target is missed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MESSAGES = int(os.environ.get("BENCH_PORTAL_MESSAGES", "1000"))
OTHER_SMALL = int(os.environ.get("BENCH_OTHER_SMALL", "10000"))
OTHER_LARGE = int(
    os.environ.get("BENCH_OTHER_LARGE", os.environ.get("BENCH_OTHER_MESSAGES", "1000000"))
)
OTHER_PATIENTS = 200
IN_PROCESS = int(os.environ.get("BENCH_IN_PROCESS", "100"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
HOME_TARGET = 0.40
PAGE_TARGET = 0.5
TAIL_TARGET = 3.0
SIZE_TARGET = 1.2
TAG = "pages-bench"
STAFF = ("clinician", "records_clerk", "privacy_officer")
# Redis databases for the two portals' caches (sessions are cached there): one each, so
# neither reads the other's keys.
REDIS_DBS = {"small": ("13", "14"), "large": ("13", "15")}


# --- the child: prepare one database ---------------------------------------------------


def _prepare(count: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import logging

    import django

    django.setup()
    logging.getLogger("celery").setLevel(logging.WARNING)  # the eager notices, one line each

    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import (
        AuthenticatorApp,
        CareTeamMember,
        IdentityMethod,
        PatientProfile,
        Role,
        User,
    )
    from audit.context import system_actor
    from bench.staff_pages import session_cookie
    from compliance import services as compliance_services
    from compliance.models import PolicyKind
    from compliance.selectors import policies_pending_for
    from messaging.models import Message, Thread
    from messaging.services import BulkItem, messages_send_bulk

    def staff(role: str, name: str) -> User:
        user, created = User.objects.get_or_create(
            email=f"{role}.{TAG}@bench.example.test",
            defaults={"full_name": name, "role": role, "email_verified_at": timezone.now()},
        )
        if created:
            AuthenticatorApp.objects.create(user=user, name="bench", confirmed=True)
        return user

    clerk = staff(Role.RECORDS_CLERK, "Bench Clerk")
    clinician = staff(Role.CLINICIAN, "Bench Clinician")
    officer = staff(Role.PRIVACY_OFFICER, "Bench Officer")
    patient = User.objects.filter(email=f"patient.{TAG}@bench.example.test").first()
    if patient is None:
        patient = User.objects.create_user(
            email=f"patient.{TAG}@bench.example.test",
            full_name="Bench Patient",
            role=Role.PATIENT,
            email_verified_at=timezone.now(),
        )
        PatientProfile.objects.create(
            user=patient,
            legal_name="Bench Patient",
            date_of_birth=date(1970, 1, 1),
            mrn=f"B-{TAG}",
            identity_verified_by=clerk,
            identity_method=IdentityMethod.PHOTO_ID_IN_PERSON,
            identity_verified_at=timezone.now(),
        )
        AuthenticatorApp.objects.create(user=patient, name="bench", confirmed=True)
        CareTeamMember.objects.create(patient=patient, staff=clinician, added_by=clerk)
        with system_actor("bench:pages"):
            for start in range(0, MESSAGES, 500):
                messages_send_bulk(
                    actor=clinician,
                    items=[
                        BulkItem(
                            send_key=uuid.uuid4(),
                            patient=patient,
                            subject=f"Your care team wrote ({i})",
                            body=f"Message {i}: please book a follow-up visit.",
                            category="clinical",
                        )
                        for i in range(start, min(start + 500, MESSAGES))
                    ],
                )
            compliance_services.policy_publish(
                actor=officer,
                kind=PolicyKind.PRIVACY_SECURITY,
                title="Privacy and security policy",
                text="Bench policy text.",
            )
    for member in (clerk, clinician, officer):
        for document in policies_pending_for(member):
            compliance_services.policy_acknowledge(actor=member, document=document)

    loaded = _others_topped_up(patient=patient, clerk=clerk, count=count)
    with connection.cursor() as cursor:  # as autovacuum would after a load
        cursor.execute("ANALYZE")

    thread = Thread.objects.filter(patient=patient).order_by("-last_message_at").first()
    assert thread is not None
    pages: dict[str, tuple[User, str]] = {
        "home": (patient, "/"),
        "portal inbox": (patient, "/portal/messages/"),
        "portal message": (patient, f"/portal/messages/{thread.pk}/"),
        "staff inbox": (clinician, "/messages/"),
        "staff thread": (clinician, f"/messages/threads/{thread.pk}/"),
        "records queue": (clerk, "/records/"),
        "audit search": (officer, "/audit/"),
        "patient directory": (clerk, "/directory/"),
    }
    cookies: dict[int, str] = {}
    clients: dict[int, Client] = {}
    for user, _ in pages.values():
        if user.pk in clients:
            continue
        clients[user.pk], cookies[user.pk] = session_cookie(user)

    out: dict[str, Any] = {"loaded": loaded, "pages": {}}
    for name, (user, path) in pages.items():
        client = clients[user.pk]
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        reset_queries()  # the test client's request_started does it too, mid-capture
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        queries = len(captured)  # now: the next request's request_started empties the log
        times = []
        for _ in range(IN_PROCESS):
            started = time.perf_counter()
            client.get(path)
            times.append(time.perf_counter() - started)
        out["pages"][name] = {
            "path": path,
            "cookie": cookies[user.pk],
            "queries": queries,
            "in_process_ms": statistics.median(times) * 1000,
        }
    out["messages"] = Message.objects.count()
    return out


def _others_topped_up(*, patient: Any, clerk: Any, count: int) -> dict[str, int]:
    """Other patients' rows in each big table (messages with their notices, record
    requests, audit events, patients): at least ``count`` each; only the difference is
    loaded, by bulk SQL (``bench/other_*.py``). Returns what each table holds."""
    from accounts.models import Role, User
    from audit.context import system_actor
    from audit.models import AuditEvent
    from bench.other_audit import events_load
    from bench.other_patients import messages_load, notices_load, patients_load
    from bench.other_requests import requests_load
    from consent.models import RecordCategory
    from messaging.models import Message
    from messaging.services import BulkItem, messages_send_bulk
    from records import services as records_services
    from records.models import ArrivedBy, DeliverTo, RecordRequest

    def timed(label: str, load: Any) -> None:
        started = time.perf_counter()
        load()
        _say(f"{label} loaded ({time.perf_counter() - started:.0f}s)")

    def others_made() -> list[int]:
        run = uuid.uuid4().hex[:8]
        return [
            User.objects.create_user(
                email=f"other.{run}.{i}@bench.example.test", full_name="Other", role=Role.PATIENT
            ).pk
            for i in range(OTHER_PATIENTS)
        ]

    mine = {"thread__patient": patient}
    if (there := Message.objects.exclude(**mine).count()) < count:
        others = others_made()
        with system_actor("bench:pages"):
            [message] = messages_send_bulk(
                actor=clerk,
                items=[
                    BulkItem(
                        send_key=uuid.uuid4(),
                        patient=User.objects.get(pk=others[0]),
                        subject="Your care team wrote",
                        body="Please book a follow-up visit.",
                        category="clinical",
                    )
                ],
            )
        timed(
            "other patients' messages and notices",
            lambda: (
                messages_load(sample=message, patients=others, count=count - there - 1),
                notices_load(patients=others),
            ),
        )
    if (there := RecordRequest.objects.exclude(patient=patient).count()) < count:
        others = others_made()
        owner = User.objects.get(pk=others[0])
        with system_actor("bench:pages"):
            request = records_services.request_receive(
                actor=owner,
                patient=owner,
                spec=records_services.RequestSpec(
                    categories=[RecordCategory.LAB_RESULTS],
                    deliver_to=DeliverTo.PORTAL,
                    details="Everything from my knee surgery",
                ),
                arrived_by=ArrivedBy.PORTAL,
            )
        timed(
            "other patients' record requests",
            lambda: requests_load(sample=request, patients=others, count=count - there - 1),
        )
    if (there := AuditEvent.objects.exclude(patient_id=patient.pk).count()) < count:
        others = others_made()
        staff = [(u.pk, u.role, u.full_name) for u in User.objects.filter(role__in=STAFF)]
        timed(
            "audit events about other patients",
            lambda: events_load(actors=staff, patients=others, count=count - there),
        )
    if (there := User.objects.filter(role=Role.PATIENT).count()) < count:
        timed(
            "other patients",
            lambda: patients_load(
                count=count - there, verified_by=clerk.pk, prefix=f"other{uuid.uuid4().hex[:6]}"
            ),
        )
    return {
        "messages": Message.objects.exclude(**mine).count(),
        "record requests": RecordRequest.objects.exclude(patient=patient).count(),
        "audit events": AuditEvent.objects.exclude(patient_id=patient.pk).count(),
        "patients": User.objects.filter(role=Role.PATIENT).count(),
    }


def _say(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


# --- the parent: databases, servers, load ------------------------------------------------


def _admin(base: str, *statements: str) -> list[Any]:
    import psycopg

    results = []
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        for statement in statements:
            cursor = conn.execute(statement)
            results.append(cursor.fetchall() if cursor.description else None)
    return results


def _exists(base: str, name: str) -> bool:
    [rows] = _admin(base, f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    return bool(rows)


def _databases(env: dict[str, str]) -> dict[str, str]:
    """The template (migrated), the small database (made again) and the large one (kept)."""
    url = env["DATABASE_URL"]
    base, name = url.rsplit("/", 1)
    template, small, large = f"{name}_pages_template", f"{name}_pages", f"{name}_pages_1m"
    if not _exists(base, template):
        _admin(base, f'CREATE DATABASE "{template}"')
    manage = [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"]
    subprocess.run(manage, cwd=ROOT, env={**env, "DATABASE_URL": f"{base}/{template}"}, check=True)
    _admin(
        base,
        f'DROP DATABASE IF EXISTS "{small}"',
        f'CREATE DATABASE "{small}" TEMPLATE "{template}"',
    )
    if os.environ.get("BENCH_REBUILD_LARGE") == "1":
        _admin(base, f'DROP DATABASE IF EXISTS "{large}"')
    if not _exists(base, large):
        _admin(base, f'CREATE DATABASE "{large}" TEMPLATE "{template}"')
    else:  # kept from an earlier run: bring it to this checkout's schema
        subprocess.run(manage, cwd=ROOT, env={**env, "DATABASE_URL": f"{base}/{large}"}, check=True)
    return {"small": f"{base}/{small}", "large": f"{base}/{large}"}


def _size_env(env: dict[str, str], size: str, database: str) -> dict[str, str]:
    redis = env.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    broker, cache = REDIS_DBS[size]
    return {
        **env,
        "DATABASE_URL": database,
        "REDIS_URL": f"{redis}/{broker}",
        "REDIS_CACHE_URL": f"{redis}/{cache}",
        "APP_MODE": "test",
        "ALLOWED_HOSTS": "localhost",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "PYTHONPATH": str(ROOT),
    }


def main() -> int:
    from bench.http_bench import free_port, load, serve

    env = {**os.environ, "APP_MODE": "test"}
    started = time.perf_counter()
    databases = _databases(env)
    envs = {size: _size_env(env, size, url) for size, url in databases.items()}
    prepared: dict[str, dict[str, Any]] = {}
    for size, count in (("small", OTHER_SMALL), ("large", OTHER_LARGE)):
        _say(f"preparing the {size} database ({count:,} other rows per table)")
        result = subprocess.run(
            [sys.executable, __file__, "--prepare", str(count)],
            cwd=ROOT,
            env=envs[size],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        prepared[size] = json.loads(result.stdout.strip().splitlines()[-1])
    _say(f"prepared in {time.perf_counter() - started:.0f}s")

    ports = {"baseline": free_port(), "small": free_port(), "large": free_port()}
    servers = [
        serve("bench.baseline_app:application", ports["baseline"], envs["small"]),
        serve("config.wsgi:application", ports["small"], envs["small"]),
        serve("config.wsgi:application", ports["large"], envs["large"]),
    ]
    names = list(prepared["small"]["pages"])
    runs: dict[tuple[str, str], list[tuple[float, list[float]]]] = {}

    def measure(size: str, name: str) -> tuple[float, list[float]]:
        page = prepared[size]["pages"][name]
        return load(ports[size], page["path"], {"Cookie": page["cookie"]})

    try:
        load(ports["baseline"], "/")
        for size in ("small", "large"):
            for name in names:
                measure(size, name)  # warm-up: each worker's first request of each page
        for _ in range(ROUNDS):
            runs.setdefault(("baseline", ""), []).append(load(ports["baseline"], "/"))
            for size in ("small", "large"):
                for name in names:
                    runs.setdefault((size, name), []).append(measure(size, name))
    finally:
        for process in servers:
            process.terminate()
            process.wait(timeout=10)
    return _report(prepared, runs, names)


def _report(
    prepared: dict[str, dict[str, Any]],
    runs: dict[tuple[str, str], list[tuple[float, list[float]]]],
    names: list[str],
) -> int:
    def figures(key: tuple[str, str]) -> tuple[float, float, float]:
        latencies = [x for r in runs[key] for x in r[1]]
        rps = statistics.median(r[0] for r in runs[key])
        p50 = statistics.median(latencies) * 1000
        p99 = statistics.quantiles(latencies, n=100)[98] * 1000
        return rps, p50, p99

    misses = []
    base_rps, base_p50, base_p99 = figures(("baseline", ""))
    home_rps = figures(("small", "home"))[0]
    small, large = prepared["small"]["loaded"], prepared["large"]["loaded"]
    print(
        f"pages: gunicorn 2 sync workers, 4 clients, {ROUNDS} rounds; "
        f"a patient with {MESSAGES:,} messages"
    )
    print(f"  other patients' rows: small {small}; large {large}")
    header = (
        f"  {'':<22}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'p99/p50':>8}{'queries':>8}{'ratio':>7}"
    )
    print(header + f"{'1M p50':>8}{'1M/10k':>7}{'in-proc ms':>12}{'1M in-proc':>11}")
    print(f"  {'bare Django view':<22}{base_rps:>8.0f}{base_p50:>8.1f}{base_p99:>8.1f}")
    for name in names:
        rps, p50, p99 = figures(("small", name))
        _, large_p50, _ = figures(("large", name))
        small_page, large_page = prepared["small"]["pages"][name], prepared["large"]["pages"][name]
        ratio = rps / (base_rps if name == "home" else home_rps)
        growth = large_p50 / p50
        inside = large_page["in_process_ms"] / small_page["in_process_ms"]
        print(
            f"  {name:<22}{rps:>8.0f}{p50:>8.1f}{p99:>8.1f}{p99 / p50:>8.1f}"
            f"{small_page['queries']:>8}{ratio:>7.2f}{large_p50:>8.1f}{growth:>7.2f}"
            f"{small_page['in_process_ms']:>12.1f}{large_page['in_process_ms']:>11.1f}"
        )
        target = HOME_TARGET if name == "home" else PAGE_TARGET
        against = "the bare view" if name == "home" else "the home page"
        if ratio < target:
            misses.append(f"{name}: {ratio:.2f} of {against}'s req/s (target {target})")
        if p99 > TAIL_TARGET * p50:
            misses.append(f"{name}: p99 {p99 / p50:.1f} x p50 (target {TAIL_TARGET})")
        if max(growth, inside) > SIZE_TARGET:
            misses.append(
                f"{name}: large/small p50 {growth:.2f}, in process {inside:.2f} "
                f"(target <= {SIZE_TARGET})"
            )
        if large_page["queries"] != small_page["queries"]:
            misses.append(
                f"{name}: {small_page['queries']} queries small, {large_page['queries']} large"
            )
    print(
        f"targets: home >= {HOME_TARGET} x bare; each page >= {PAGE_TARGET} x home, "
        f"p99 <= {TAIL_TARGET} x p50; large/small <= {SIZE_TARGET}: "
        + ("PASS" if not misses else "MISS")
    )
    for miss in misses:
        print(f"  MISS {miss}")
    return 1 if misses else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--prepare"]:
        print(json.dumps(_prepare(int(sys.argv[2]))))
        raise SystemExit(0)
    raise SystemExit(main())
