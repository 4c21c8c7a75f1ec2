"""Audit test helpers: recording events, tampering as a superuser, a second connection.

The personas and signed-in clients come from ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction

from audit.context import system_actor
from audit.models import AuditEvent
from audit.services import event_record


def record(n: int = 1, **fields: Any) -> list[AuditEvent]:
    """``n`` committed-in-this-test events from a system actor."""
    fields.setdefault("action", "audit.searched")
    with system_actor("test"):
        return [event_record(**fields) for _ in range(n)]


INSERT_MINIMAL_EVENT = (
    "INSERT INTO audit_auditevent (actor_kind, actor_role, actor_label, action, target_type, "
    "target_id, outcome, user_agent, request_id, details) "
    "VALUES ('system', 'system', 'raw', 'accounts.sign_in', '', '', 'success', '', '', '{}')"
)
INSERT_MINIMAL_EVENT_WITH_ID = (
    "INSERT INTO audit_auditevent (id, actor_kind, actor_role, actor_label, action, target_type, "
    "target_id, outcome, user_agent, request_id, details) "
    "VALUES (%s, 'system', 'system', 'raw', 'accounts.sign_in', '', '', 'success', '', '', '{}')"
)


def rolled_back_id() -> int:
    """Burn one id the way a failed request does: its event is rolled back."""
    with system_actor("test"), pytest.raises(RuntimeError), transaction.atomic():
        event = event_record(action="audit.searched")
        burnt = event.pk
        raise RuntimeError
    return burnt


@contextmanager
def triggers_disabled() -> Iterator[Any]:
    """Tamper as a superuser would: replica mode skips the append-only triggers (and FKs)."""
    with connection.cursor() as cursor:
        # Settle the seals' deferred FK checks first: they belong to honest writes.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            yield cursor
        finally:
            cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.fixture
def other_connection(db: Any) -> Iterator[psycopg.Connection[Any]]:
    """A second session on the test database, like another worker process."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    other = psycopg.connect(**params)
    try:
        yield other
    finally:
        other.rollback()
        other.close()
