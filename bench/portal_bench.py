"""The patient portal under load: the inbox and a message page, against a bare Django view.

A patient with 1,000 messages (1,000 threads, sent through the bulk service) is signed
in with a verified second factor; gunicorn (2 sync workers) serves the portal and the
baseline (``bench/baseline_app.py``: one query, one template) in turn, A B A B, loaded by
the same closed-loop client as ``http_bench``. Prints requests/s, p50 and p99 for each,
the ratio portal/baseline (target >= 0.5) and each page's query count.
"""

from __future__ import annotations

import os
import statistics
import sys
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
from core.sessions import SESSION_AUTH_AT, SESSION_LAST_SEEN, SESSION_OTP_AT, now_ts  # noqa: E402
from messaging.models import Thread  # noqa: E402
from messaging.services import BulkItem, messages_send_bulk  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_PORTAL_MESSAGES", "1000"))
ROUNDS = 3
TARGET = 0.5
RUN = uuid.uuid4().hex[:8]


def patient_with_messages() -> User:
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
    return patient


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
    patient = patient_with_messages()
    with connection.cursor() as cursor:  # as autovacuum would after a load this size
        cursor.execute("ANALYZE")
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
    try:
        load(baseline_port, "/")
        for path in pages.values():
            load(portal_port, path, headers)  # warm-up
        for _ in range(ROUNDS):
            results["baseline"].append(load(baseline_port, "/"))
            for name, path in pages.items():
                results[name].append(load(portal_port, path, headers))
    finally:
        for process in (baseline, portal):
            process.terminate()
            process.wait(timeout=10)

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
    return status


if __name__ == "__main__":
    raise SystemExit(main())
