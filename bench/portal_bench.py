"""The patient portal under load: the inbox and a message page, against a bare Django view.

A patient with 1,000 messages (1,000 threads, sent through the bulk service) is signed
in with a verified second factor; gunicorn (2 sync workers) serves the portal and the
baseline (``bench/baseline_app.py``: one query, one template) in turn, A B A B, loaded by
the same closed-loop client as ``http_bench``. Prints requests/s, p50 and p99 for each,
the ratio portal/baseline (target >= 0.5) and each page's query count.

Then the inbox at two sizes of *other* patients' messages (issue 21, "constant with
size"): with ``BENCH_OTHER_SMALL`` (10,000) and with ``BENCH_OTHER_MESSAGES``
(1,000,000), loaded in bulk by ``bench/other_patients.py`` (server-side INSERT ... SELECT,
not the services), ANALYZE after each load. Each size: the inbox under the same gunicorn
load, and in process (``IN_PROCESS`` GETs through the test client, median). Prints the
ratio large/small of p50 and in-process median (target <= 1.2). Loading a million takes
about a minute here; the run deletes what it loaded at the end (about three more
minutes, mostly the deferred foreign-key checks at commit), so the next run starts
small again; with
``BENCH_KEEP_OTHERS=1`` it keeps them (a later run then measures its "small" size with
whatever the table holds, and says so).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("APP_MODE", "test")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import (  # noqa: E402
    AuthenticatorApp,
    IdentityMethod,
    PatientProfile,
    Role,
    User,
)
from audit.context import system_actor  # noqa: E402
from bench.http_bench import free_port, load, serve  # noqa: E402
from bench.other_patients import messages_load, messages_unload  # noqa: E402
from core.sessions import SESSION_AUTH_AT, SESSION_LAST_SEEN, SESSION_OTP_AT, now_ts  # noqa: E402
from messaging.models import Message, Thread  # noqa: E402
from messaging.services import BulkItem, messages_send_bulk  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_PORTAL_MESSAGES", "1000"))
OTHER_SMALL = int(os.environ.get("BENCH_OTHER_SMALL", "10000"))
OTHER_LARGE = int(os.environ.get("BENCH_OTHER_MESSAGES", "1000000"))
OTHER_PATIENTS = 200
IN_PROCESS = 200
ROUNDS = 3
TARGET = 0.5
SIZE_TARGET = 1.2
RUN = uuid.uuid4().hex[:8]
LOADED: list[tuple[list[int], Message]] = []  # (patients, the sample kept) per load


def patient_with_messages() -> tuple[User, User]:
    clerk = User.objects.create_user(
        email=f"clerk.{RUN}@bench.example.test", full_name="Bench Clerk", role=Role.RECORDS_CLERK
    )
    patient = User.objects.create_user(
        email=f"patient.{RUN}@bench.example.test",
        full_name="Bench Patient",
        role=Role.PATIENT,
        email_verified_at=timezone.now(),
    )
    PatientProfile.objects.create(
        user=patient,
        legal_name="Bench Patient",
        date_of_birth=date(1970, 1, 1),
        mrn=f"B-{RUN}",
        identity_verified_by=clerk,
        identity_method=IdentityMethod.PHOTO_ID_IN_PERSON,
        identity_verified_at=timezone.now(),
    )
    AuthenticatorApp.objects.create(user=patient, name="bench", confirmed=True)
    with system_actor("bench:portal"):
        for start in range(0, MESSAGES, 500):
            items = [
                BulkItem(
                    send_key=uuid.uuid4(),
                    patient=patient,
                    subject=f"Your care team wrote ({i})",
                    body=f"Message {i}: please book a follow-up visit.",
                    category="clinical",
                )
                for i in range(start, min(start + 500, MESSAGES))
            ]
            messages_send_bulk(actor=clerk, items=items)
    return patient, clerk


def others_topped_up(patient: User, clerk: User, to: int) -> int:
    """Other patients' messages in the table: at least ``to`` (only the difference is
    loaded). Returns how many there are."""
    there = Message.objects.exclude(thread__patient=patient).count()
    if there >= to:
        return there
    others = [
        User.objects.create_user(
            email=f"other.{RUN}.{len(LOADED)}.{i}@bench.example.test",
            full_name="Other",
            role=Role.PATIENT,
        ).pk
        for i in range(OTHER_PATIENTS)
    ]
    with system_actor("bench:portal"):
        [sample] = messages_send_bulk(
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
    LOADED.append((others, sample))
    started = time.perf_counter()
    loaded = messages_load(sample=sample, patients=others, count=to - there - 1)
    print(f"  loaded {loaded:,} other patients' messages in {time.perf_counter() - started:.0f}s")
    return there + 1 + loaded


def in_process_ms(client: Client, path: str) -> float:
    client.get(path)  # warm-up
    times = []
    for _ in range(IN_PROCESS):
        started = time.perf_counter()
        client.get(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def verified_session(patient: User) -> tuple[Client, str]:
    """A session as after password and TOTP (the sign-in itself is ``http_bench``'s job)."""
    client = Client(HTTP_HOST="localhost")
    client.force_login(patient)
    session = client.session
    session[SESSION_AUTH_AT] = session[SESSION_LAST_SEEN] = now_ts()
    session["otp_device_id"] = AuthenticatorApp.objects.get(user=patient).persistent_id
    session[SESSION_OTP_AT] = now_ts()
    session.save()
    return client, f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def query_count(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return len(captured)


def main() -> int:
    patient, clerk = patient_with_messages()
    with connection.cursor() as cursor:  # as autovacuum would after a load this size
        cursor.execute("ANALYZE")
    small = others_topped_up(patient, clerk, OTHER_SMALL)
    thread = Thread.objects.filter(patient=patient).order_by("-last_message_at").first()
    assert thread is not None
    client, cookie = verified_session(patient)
    pages = {
        "inbox": "/portal/messages/",
        "message": f"/portal/messages/{thread.pk}/",
        # For context, no target: the signed-in stack alone (session, user, second
        # factor, CSP, audit context, templates) on a page that reads no patient data.
        "home": "/",
    }
    counts = {name: query_count(client, path) for name, path in pages.items()}

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    portal_env = {**env, "APP_MODE": "test", "ALLOWED_HOSTS": "localhost"}
    baseline_port, portal_port = free_port(), free_port()
    baseline = serve("bench.baseline_app:application", baseline_port, env)
    portal = serve("config.wsgi:application", portal_port, portal_env)
    headers = {"Cookie": cookie}
    results: dict[str, list[tuple[float, list[float]]]] = {"baseline": [], **{n: [] for n in pages}}
    sizes: list[tuple[int, list[tuple[float, list[float]]], float]] = []
    try:
        load(baseline_port, "/")
        for path in pages.values():
            load(portal_port, path, headers)  # warm-up
        for _ in range(ROUNDS):
            results["baseline"].append(load(baseline_port, "/"))
            for name, path in pages.items():
                results[name].append(load(portal_port, path, headers))
        # Constant with size: the inbox with few and with many other patients' messages.
        for target in (OTHER_SMALL, OTHER_LARGE):
            there = others_topped_up(patient, clerk, target) if target > small else small
            if there > 2 * target:
                print(f"  (the bench database already held {there:,} other messages)")
            load(portal_port, pages["inbox"], headers)  # warm-up after the load
            runs = [load(portal_port, pages["inbox"], headers) for _ in range(ROUNDS)]
            sizes.append((there, runs, in_process_ms(client, pages["inbox"])))
    finally:
        for process in (baseline, portal):
            process.terminate()
            process.wait(timeout=10)
        if os.environ.get("BENCH_KEEP_OTHERS") != "1":
            for others, sample in LOADED:
                messages_unload(patients=others, keep=sample)

    def p99(values: list[float]) -> float:
        return statistics.quantiles(values, n=100)[98]

    base_rps = statistics.median(r[0] for r in results["baseline"])
    print(f"portal: gunicorn 2 sync workers, {ROUNDS} rounds, a patient with {MESSAGES:,} messages")
    print(f"  {'':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'queries':>9}{'ratio':>8}")
    status = 0
    for name in ("baseline", *pages):
        rps = statistics.median(r[0] for r in results[name])
        latencies = [x for r in results[name] for x in r[1]]
        label = {
            "baseline": "bare Django view (1 query)",
            "home": "portal home (the stack alone)",
        }.get(name, f"portal {name} page")
        queries = 1 if name == "baseline" else counts[name]
        ratio = rps / base_rps
        print(
            f"  {label:<34}{rps:>9.0f}{statistics.median(latencies) * 1000:>9.1f}"
            f"{p99(latencies) * 1000:>9.1f}{queries:>9}{ratio:>8.2f}"
        )
        if name in ("inbox", "message") and ratio < TARGET:
            status = 1
    verdict = "MISS" if status else "PASS"
    print(f"target: each portal page >= {TARGET} x the bare view's req/s: {verdict}")

    print("portal inbox with other patients' messages in the table")
    print(f"  {'other messages':<20}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'in-process ms':>15}")
    figures = []
    for there, runs, inside in sizes:
        latencies = [x for r in runs for x in r[1]]
        p50 = statistics.median(latencies) * 1000
        rps = statistics.median(r[0] for r in runs)
        figures.append((p50, inside))
        print(f"  {there:<20,}{rps:>9.0f}{p50:>9.1f}{p99(latencies) * 1000:>9.1f}{inside:>15.1f}")
    (small_p50, small_in), (large_p50, large_in) = figures[0], figures[-1]
    ratio = max(large_p50 / small_p50, large_in / small_in)
    size_verdict = "PASS" if ratio <= SIZE_TARGET else "MISS"
    print(
        f"target: large/small <= {SIZE_TARGET} (p50 {large_p50 / small_p50:.2f}, "
        f"in process {large_in / small_in:.2f}): {size_verdict}"
    )
    return status or (size_verdict == "MISS")


if __name__ == "__main__":
    raise SystemExit(main())
