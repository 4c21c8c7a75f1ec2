"""Other patients' record requests, loaded fast for size checks (bench and tests).

``requests_load`` writes ``count`` requests spread over ``patients`` with one server-side
``INSERT ... SELECT generate_series`` per table: no service, no encryption. Each row copies
every column of ``sample`` (a request recorded through the services: its ciphertexts are
never decrypted under another row's id, the queue shows none of them) and gets its own
data key, as the services make them. Like a records office some years in: ``open``
requests (received in the last 40 days, due around today, received or verified), the
rest fulfilled, most on time, received evenly over the four years before eight weeks ago
(so the queue's 12-week chart sees its share of them).

The sample's encrypted fields are bound to its own id, so a loaded row's would fail to
decrypt if a page opened them: the queue, its counts and its chart never do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from records.models import RecordRequest

# Columns the load sets; every other column is the sample's.
_SET = {
    "id": "o.id",
    "data_key_id": "o.key_id",
    "patient_id": "o.patient_id",
    "state": "o.state",
    "received_at": "o.received_at",
    "due_at": "o.due_at",
    "original_due_at": "o.due_at",
    "extended_at": "NULL",
    "verified_at": (
        "CASE WHEN o.state = 'received' THEN NULL ELSE o.received_at + interval '1 hour' END"
    ),
    "verified_by_id": "CASE WHEN o.state = 'received' THEN NULL ELSE s.recorded_by_id END",
    "verification_method": "CASE WHEN o.state = 'received' THEN '' ELSE 'photo_id_in_person' END",
    "closed_at": "o.closed_at",
    "closed_by_id": "CASE WHEN o.closed_at IS NULL THEN NULL ELSE s.recorded_by_id END",
    "assigned_to_id": "NULL",
    "package_id": "NULL",
    "delivered_message_id": "NULL",
    "delivered_package_id": "NULL",
    "build_state": "s.build_state",
    "created_at": "o.received_at",
}


def requests_load(
    *, sample: RecordRequest, patients: Sequence[int], count: int, open: int = 200
) -> int:
    """Insert ``count`` requests for ``patients`` (``open`` of them open, the rest
    fulfilled), each copying ``sample``'s other columns. Returns the requests inserted."""
    open = min(open, count)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT column_name FROM information_schema.columns
            WHERE table_name = 'records_recordrequest' ORDER BY ordinal_position"""
        )
        columns = [row[0] for row in cursor.fetchall()]
    select = ", ".join(_SET.get(column, f"s.{column}") for column in columns)
    values: dict[str, Any] = {
        "count": count,
        "open": open,
        "patients": list(patients),
        "sample": sample.pk,
        "zone": settings.TIME_ZONE,
    }
    # Open: received over the last 40 days, due 30 days later (end of the local day is
    # close enough for a load). Closed: evenly over the four years before 8 weeks ago,
    # closed within 2-33 days of receipt (some late), fulfilled.
    statements = [
        """CREATE TEMP TABLE other_requests ON COMMIT DROP AS
        SELECT gen_random_uuid() AS id, gen_random_uuid() AS key_id, g,
               (%(patients)s::bigint[])[1 + g %% cardinality(%(patients)s::bigint[])]
                   AS patient_id,
               CASE WHEN g < %(open)s THEN now() - (g %% 40) * interval '1 day'
                    ELSE now() - interval '56 days'
                         - (g - %(open)s) * (interval '1461 days' / %(count)s)
               END AS received_at
        FROM generate_series(0, %(count)s - 1) AS g""",
        """ALTER TABLE other_requests
            ADD COLUMN due_at timestamptz, ADD COLUMN closed_at timestamptz,
            ADD COLUMN state varchar(16)""",
        """UPDATE other_requests SET
            due_at = received_at + interval '30 days',
            closed_at = CASE WHEN g < %(open)s THEN NULL
                             ELSE received_at + (2 + g %% 10 * 3 + g %% 4) * interval '1 day' END,
            state = CASE WHEN g >= %(open)s THEN 'fulfilled'
                         WHEN g %% 2 = 0 THEN 'received' ELSE 'verified' END""",
        """INSERT INTO encryption_datakey (id, kek_id, wrapped, created_at)
        SELECT o.key_id, k.kek_id, k.wrapped, now()
        FROM other_requests AS o,
             (SELECT kek_id, wrapped FROM encryption_datakey
              WHERE id = (SELECT data_key_id FROM records_recordrequest
                          WHERE id = %(sample)s)) AS k""",
        f"""INSERT INTO records_recordrequest ({", ".join(columns)})
        SELECT {select}
        FROM other_requests AS o,
             (SELECT * FROM records_recordrequest WHERE id = %(sample)s) AS s""",
        # The chart's weekly counts, as the services keep them (records.weeks).
        """INSERT INTO records_requestweek (starts, received, fulfilled, on_time)
        SELECT starts, sum(received), sum(fulfilled), sum(on_time) FROM (
            SELECT date_trunc('week', received_at AT TIME ZONE %(zone)s)::date AS starts,
                   1 AS received, 0 AS fulfilled, 0 AS on_time
            FROM other_requests
            UNION ALL
            SELECT date_trunc('week', closed_at AT TIME ZONE %(zone)s)::date, 0, 1,
                   (closed_at < due_at)::int
            FROM other_requests WHERE closed_at IS NOT NULL) AS w
        GROUP BY starts
        ON CONFLICT (starts) DO UPDATE SET
            received = records_requestweek.received + EXCLUDED.received,
            fulfilled = records_requestweek.fulfilled + EXCLUDED.fulfilled,
            on_time = records_requestweek.on_time + EXCLUDED.on_time""",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, values)
    with connection.cursor() as cursor:  # as autovacuum would after a load this size
        cursor.execute("ANALYZE encryption_datakey, records_recordrequest")
    return count
