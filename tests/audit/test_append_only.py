"""The database, not the application, refuses changes: tested with raw SQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction

from audit.sealing import events_seal

from .conftest import record

TABLES = ("audit_auditevent", "audit_auditseal", "audit_auditcheckpoint", "audit_auditanchor")
KEY_COLUMN = {"audit_auditseal": "event_id", "audit_auditanchor": "checkpoint_id"}


@pytest.fixture
def sealed_event(db: None, anchor_file: Path) -> None:
    record(1)
    events_seal()
    with connection.cursor() as cursor:
        # Run the seal's deferred FK check now: PostgreSQL will not TRUNCATE a table
        # with trigger events pending, and that error is not the one under test.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _refused(sql: str) -> None:
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)


@pytest.mark.usefixtures("sealed_event")
@pytest.mark.parametrize("table", TABLES)
class TestAppendOnly:
    def test_update_is_refused(self, table: str) -> None:
        column = KEY_COLUMN.get(table, "id")
        _refused(f"UPDATE {table} SET {column} = {column}")

    def test_delete_is_refused(self, table: str) -> None:
        _refused(f"DELETE FROM {table}")

    def test_truncate_is_refused(self, table: str) -> None:
        _refused(f"TRUNCATE {table} CASCADE")

    def test_the_rows_are_still_there(self, table: str) -> None:
        for sql in (f"DELETE FROM {table}", f"TRUNCATE {table} CASCADE"):
            _refused(sql)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            assert cursor.fetchone()[0] >= 1
