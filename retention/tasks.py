"""Background work for retention: the nightly purge."""

from __future__ import annotations

from celery import shared_task

from audit.context import system_actor


@shared_task
def purge() -> dict[str, int]:
    """Nightly: erase what has passed its retention period and is not under a legal hold.

    Takes no arguments; safe to run twice or concurrently (the second finds the first
    holding the purge lock and returns at once).
    """
    from retention.services import retention_purge

    with system_actor("task:retention_purge"):
        run = retention_purge(trigger="schedule")
    if run is None:
        return {}
    return {**run.purged, **{f"finished_{k}": n for k, n in run.finished.items()}}
