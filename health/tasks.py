from celery import shared_task

from health.checks import heartbeat_write


@shared_task(name="health.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Beat sends it, a worker runs it: a fresh heartbeat proves both are alive."""
    heartbeat_write()
