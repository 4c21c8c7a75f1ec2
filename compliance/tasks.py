"""Background work for compliance: the daily business associate renewal alerts."""

from __future__ import annotations

from celery import shared_task

from audit.context import system_actor


@shared_task
def renewal_alerts() -> int:
    """Daily: alert the privacy officers 30 days before an agreement's renewal date."""
    from compliance.alerts import renewal_alerts_raise

    with system_actor("task:compliance_renewal_alerts"):
        return renewal_alerts_raise()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def renewal_alert_email(alert_id: int) -> None:
    from compliance.alerts import renewal_alert_email as send

    with system_actor("task:compliance_renewal_alert_email"):
        send(alert_id=alert_id)
