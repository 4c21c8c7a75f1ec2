"""Other patients' audit events, loaded fast for size checks (bench and tests).

``events_load`` appends ``count`` events with one ``INSERT ... SELECT generate_series``:
staff reading, sending and exporting other patients' information, one every so often
over the ``days`` before now, oldest first (so ids follow time, as the service's
inserts do). Every row is an ordinary, valid event: the append-only triggers refuse
UPDATE, DELETE and TRUNCATE but allow INSERT, and the sealer (``audit.sealing``) chains
the loaded rows like any other in its next runs.

They cannot be taken out again: that is the point of the table. A database that has
been loaded keeps them (drop the bench's database to be rid of them); tests load into
the test database, which is thrown away (its flush lifts the triggers for the flush
alone, see tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction

# What staff do to patients' information, with the target each leaves (codes only).
ACTIONS = [
    ("messaging.thread_viewed", "messaging.thread"),
    ("messaging.message_sent", "messaging.message"),
    ("records.request_viewed", "records.recordrequest"),
    ("directory.patient_page_viewed", "accounts.user"),
    ("messaging.attachment_downloaded", "encryption.encryptedfile"),
]


def events_load(
    *,
    actors: Sequence[tuple[int, str, str]],
    patients: Sequence[int],
    count: int,
    days: int = 730,
) -> int:
    """Append ``count`` events by ``actors`` (id, role, label) about ``patients``, spread
    evenly over the ``days`` before now, one in fifty refused. Returns the events added."""
    values: dict[str, Any] = {
        "count": count,
        "days": days,
        "patients": list(patients),
        "actor_ids": [a[0] for a in actors],
        "actor_roles": [a[1] for a in actors],
        "actor_labels": [a[2] for a in actors],
        "actions": [a[0] for a in ACTIONS],
        "targets": [a[1] for a in ACTIONS],
    }
    statement = """
        INSERT INTO audit_auditevent (occurred_at, actor_kind, actor_id, actor_role,
            actor_label, action, target_type, target_id, patient_id, outcome, ip,
            user_agent, request_id, details)
        SELECT now() - (%(count)s - g) * (%(days)s * interval '1 day' / %(count)s), 'user',
               (%(actor_ids)s::bigint[])[a], (%(actor_roles)s::text[])[a],
               (%(actor_labels)s::text[])[a], (%(actions)s::text[])[t],
               (%(targets)s::text[])[t], gen_random_uuid()::text,
               (%(patients)s::bigint[])[1 + g %% cardinality(%(patients)s::bigint[])],
               CASE WHEN g %% 50 = 49 THEN 'denied' ELSE 'success' END,
               '10.0.0.1', 'Mozilla/5.0 (bench)', md5(g::text), '{}'::jsonb
        FROM generate_series(0, %(count)s - 1) AS g,
             LATERAL (SELECT 1 + g %% cardinality(%(actor_ids)s::bigint[]) AS a,
                             1 + g %% cardinality(%(actions)s::text[]) AS t) AS pick
        ORDER BY g"""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, values)
    with connection.cursor() as cursor:  # as autovacuum would after a load this size
        cursor.execute("ANALYZE audit_auditevent")
    return count
