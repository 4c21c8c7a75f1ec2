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
    from messaging.guests import guest_links_resend_unsent
    from messaging.proxy_notices import proxy_notices_sweep

    with system_actor("task:deliveries_sweep"):
        # Third-party pickup links and the proxies' notices ride along: the same kind of
        # mail, the same outage.
        return sweep() + guest_links_resend_unsent() + proxy_notices_sweep()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def proxy_notice_send(notice_id: str) -> str:
    """Takes an id only. Idempotent: sent once, under the notice's row lock."""
    from messaging.proxy_notices import proxy_notice_deliver

    with system_actor("task:proxy_notice_send"):
        return proxy_notice_deliver(notice_id=notice_id)


# Third-party guest pickup (messaging.guests). Ids only: the link's secret and the code
# are made inside the task, so neither is ever a task argument or in the broker.


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def guest_link_send(package_id: str) -> bool:
    """E-mail the pickup link (no health information). Idempotent: sent once."""
    from messaging.guests import guest_link_deliver

    with system_actor("task:guest_link_send"):
        return guest_link_deliver(package_id=package_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def guest_code_send(package_id: str) -> bool:
    """E-mail a new one-time code to the recipient's address."""
    from messaging.guests import guest_code_deliver

    with system_actor("task:guest_code_send"):
        return guest_code_deliver(package_id=package_id)
