"""Periodic sealing (``CELERY_BEAT_SCHEDULE["audit-seal"]``) and the nightly check of the
whole chain (``["audit-verify"]``).

Sealing is idempotent and safe to overlap: the sealer's advisory lock lets one run extend
the chain at a time; a second one returns at once.
"""

from __future__ import annotations

import logging

from celery import shared_task

from audit.context import system_actor
from audit.sealing import events_seal
from audit.verification import chain_verify

logger = logging.getLogger(__name__)


@shared_task(name="audit.tasks.seal_events", ignore_result=True)
def seal_events() -> int:
    # No audit event per run: the signed checkpoint each batch writes is the record,
    # and an event per run would itself need sealing on the next run, forever.
    with system_actor("audit sealing task"):
        return events_seal().sealed


@shared_task(name="audit.tasks.chain_verify_nightly", ignore_result=True)
def chain_verify_nightly() -> bool:
    """What ``manage.py audit_verify`` does, every night before the privacy officers'
    digest, which reports its outcome ("last successful audit_verify" stays current
    without an operator's cron). The run is recorded as an ``audit.verified`` event,
    broken chain or not; a broken one is also logged, by sequence number only."""
    with system_actor("audit verification task"):
        report = chain_verify()
    if not report.ok:
        logger.error(
            "audit chain verification failed: first mismatch at event %s (%s)",
            report.first_bad_event_id or "-",
            "anchors" if report.first_bad_event_id is None else "seal or checkpoint",
        )
    return report.ok
