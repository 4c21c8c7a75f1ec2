"""Periodic sealing (``CELERY_BEAT_SCHEDULE["audit-seal"]``).

Idempotent and safe to overlap: the sealer's advisory lock lets one run extend the
chain at a time; a second one returns at once.
"""

from __future__ import annotations

from celery import shared_task

from audit.context import system_actor
from audit.sealing import events_seal


@shared_task(name="audit.tasks.seal_events", ignore_result=True)
def seal_events() -> int:
    # No audit event per run: the signed checkpoint each batch writes is the record,
    # and an event per run would itself need sealing on the next run, forever.
    with system_actor("audit sealing task"):
        return events_seal().sealed
