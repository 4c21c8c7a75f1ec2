"""A prefork worker keeps its PostgreSQL connection from one notice to the next, and
still sends when the server has dropped that connection in between."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from messaging.models import Delivery, DeliveryState
from tests.messaging.conftest import WORKER_APPLICATION_NAME, ScriptedMailbox
from tests.messaging.factories import message_sent

pytestmark = pytest.mark.django_db(transaction=True)


def _eventually(found: Callable[[], Any], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := found()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def _worker_backends() -> set[int]:
    """The server processes of the worker's connections."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
            [WORKER_APPLICATION_NAME],
        )
        return {row[0] for row in cursor.fetchall()}


def _notice_sent(personas: Any, mailbox: ScriptedMailbox) -> set[int]:
    """Send a message; once its notice is out and marked sent, the worker's backends."""
    before = len(mailbox.messages)
    message = message_sent(author=personas.clinician, patient=personas.patient)
    sent = Delivery.objects.filter(message=message, state=DeliveryState.SENT)
    assert _eventually(lambda: len(mailbox.messages) > before and sent.exists())
    # The task gives its connection back to the pool just after it marks the row.
    return _eventually(_worker_backends, seconds=5) or set()


def test_consecutive_notices_reuse_the_same_connections(
    personas: Any, mailbox: ScriptedMailbox, prefork_worker: Any
) -> None:
    first = _notice_sent(personas, mailbox)
    assert first  # kept after the task (Celery's own fix-up closed them, and their pool)
    assert _notice_sent(personas, mailbox) == first
    assert _notice_sent(personas, mailbox) == first


def test_a_notice_after_the_server_dropped_the_connections_is_sent(
    personas: Any, mailbox: ScriptedMailbox, prefork_worker: Any
) -> None:
    dropped = _notice_sent(personas, mailbox)
    with connection.cursor() as cursor:
        for pid in dropped:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert _eventually(lambda: not dropped & _worker_backends())
    after = _notice_sent(personas, mailbox)  # the pool's check replaced the dead ones
    assert after and not dropped & after
    assert len(mailbox.messages) == 2
