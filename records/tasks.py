"""Background work for record requests: building packages, deadline alerts, the sweep."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from audit.context import system_actor


@shared_task(acks_late=True)
def package_build(request_id: str) -> str:
    """Build, sign and encrypt one request's package (ids only; idempotent by its claim)."""
    from records.building import package_build_run

    with system_actor("task:records_package_build"):
        return package_build_run(request_id=request_id)


@shared_task
def builds_sweep() -> int:
    """Periodic: builds whose prompt was lost, or whose worker died, are prompted again."""
    from records.building import builds_resume

    with system_actor("task:records_builds_sweep"):
        return builds_resume()


@shared_task
def deadline_alerts() -> dict[str, Any]:
    """Daily: alert assignees before each due date and the privacy officer after it."""
    from records.alerts import deadline_alerts_raise

    with system_actor("task:records_deadline_alerts"):
        run = deadline_alerts_raise()
    return {"raised": run.raised}


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def deadline_alert_email(alert_id: int) -> None:
    from records.alerts import alert_email

    with system_actor("task:records_deadline_alert_email"):
        alert_email(alert_id=alert_id)
