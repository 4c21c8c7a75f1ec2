from __future__ import annotations

from celery import shared_task

from audit.context import system_actor


@shared_task(acks_late=True)
def delivery_send(delivery_id: str) -> str:
    """Takes an id only. Idempotent: the row is claimed, so a duplicate prompt sends nothing."""
    from messaging.delivery import delivery_send as send

    with system_actor("task:delivery_send"):
        return send(delivery_id=delivery_id)


@shared_task(acks_late=True)
def deliveries_send_batch(delivery_ids: list[str]) -> dict[str, int]:
    """Ids only; one SMTP connection for the batch. Idempotent like ``delivery_send``.
    Returns how many notices ended each way (the task log shows counts, not ids)."""
    from collections import Counter

    from messaging.delivery import deliveries_send

    with system_actor("task:deliveries_send_batch"):
        outcomes = deliveries_send(delivery_ids=delivery_ids)
    return dict(Counter(outcomes.values()))


@shared_task
def deliveries_sweep() -> int:
    """Periodic: a broker outage or a killed worker delays notices and loses none."""
    from messaging.delivery import deliveries_sweep as sweep

    with system_actor("task:deliveries_sweep"):
        return sweep()
