"""The per-week counts behind the queue's chart (``RequestWeek``), kept as requests are
received and fulfilled, in the caller's transaction."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import connection

from records import deadlines
from records.models import RecordRequest


def week_of(moment: datetime) -> date:
    """The Monday that starts ``moment``'s local week."""
    day = deadlines.local_day(moment)
    return day - timedelta(days=day.weekday())


def _add(starts: date, *, received: int = 0, fulfilled: int = 0, on_time: int = 0) -> None:
    # One statement, so two requests received at once each add theirs (the row lock
    # orders them; neither overwrites the other).
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO records_requestweek (starts, received, fulfilled, on_time)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (starts) DO UPDATE SET
                received = records_requestweek.received + EXCLUDED.received,
                fulfilled = records_requestweek.fulfilled + EXCLUDED.fulfilled,
                on_time = records_requestweek.on_time + EXCLUDED.on_time""",
            [starts, received, fulfilled, on_time],
        )


def received_count(request: RecordRequest) -> None:
    _add(week_of(request.received_at), received=1)


def fulfilled_count(request: RecordRequest) -> None:
    """A request fulfilled (wholly or in part): counted in the week it closed."""
    assert request.closed_at is not None
    on_time = int(request.closed_at < request.due_at)
    _add(week_of(request.closed_at), fulfilled=1, on_time=on_time)
