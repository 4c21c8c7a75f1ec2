"""A real Celery worker, fed through the real Redis broker, delivers what was queued.

The rest of the suite runs tasks eagerly; this test proves the wiring eager mode hides:
the broker URL, task discovery, ids-only arguments and the worker's own settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Invitation
from accounts.services import invitation_issue
from config.celery import app

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(smtp_server: Any) -> Any:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("REDIS_URL is not set (CI=true: no skipping)")
        pytest.skip("no Redis")
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    env = {
        **os.environ,
        "APP_MODE": "test",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_URL": f"postgresql://{db['USER']}@{host}:{db['PORT'] or 5432}/{db['NAME']}",
        "EMAIL_HOST": smtp_server.host,
        "EMAIL_PORT": str(smtp_server.port),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    app.conf.update(broker_url=redis_url, task_always_eager=False)
    try:
        yield process
    finally:
        app.conf.update(task_always_eager=True)
        process.terminate()
        process.wait(timeout=20)


def test_a_queued_invitation_is_sent_by_a_worker(
    worker: Any, personas: Any, smtp_server: Any
) -> None:
    # Outside a transaction, on_commit runs at once: the task goes to Redis, not in-process.
    invitation = invitation_issue(user=personas.patient, actor=personas.clinician)
    # The worker records sent_at after the SMTP conversation ends: wait for both.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        invitation.refresh_from_db()
        if smtp_server.messages and invitation.sent_at is not None:
            break
        time.sleep(0.2)
    assert [m["X-Envelope-To"] for m in smtp_server.messages] == [personas.patient.email]
    assert invitation.sent_at is not None
    assert timezone.now() - invitation.sent_at < timedelta(minutes=1)
    assert Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).exists()
