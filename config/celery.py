"""The Celery app. Tasks are enqueued after commit and take ids, never patient data."""

import os
from typing import Any

from celery import Celery
from celery.fixups import django as celery_django
from celery.fixups.django import DjangoFixup
from celery.signals import beat_init, worker_init

from support.env import owner_credentials_problem

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class _PoolKeepingWorkerFixup(celery_django.DjangoWorkerFixup):  # type: ignore[name-defined]  # not in celery-types
    """Celery's Django worker fix-up, except around each task: the task's connections go
    back to the process's pool (``close()`` does that with a pool) and the pool stays.

    Celery's own closes the whole pool before and after every task of a prefork worker,
    so each task opened a pool (its threads) and a new PostgreSQL connection (a server
    process forked and warmed), and shut them again: about half the machine's work per
    notice in ``bench/messaging_bench.py``. Kept, a connection is still checked when a
    task takes it (``CONN_HEALTH_CHECKS``: the pool's check), so one the server dropped
    is replaced, not failed on; the pool rolls back whatever a task left open. A new
    pool process still closes the pool it inherited (``on_worker_process_init``).
    """

    def on_task_prerun(self, sender: Any, **kwargs: Any) -> None:
        if not getattr(sender.request, "is_eager", False):
            self._connections_return()

    def on_task_postrun(self, sender: Any, **kwargs: Any) -> None:
        if not getattr(sender.request, "is_eager", False):
            self._connections_return()
            self.close_cache()

    def _connections_return(self) -> None:
        for conn in self._db.connections.all(initialized_only=True):
            try:
                conn.close()
            except self.interface_errors:
                pass
            except self.DatabaseError as exc:  # as Celery's: an already closed one is fine
                if "closed" not in str(exc) and "not connected" not in str(exc):
                    raise


class _DjangoFixup(DjangoFixup):
    _worker_fixup: Any

    @property
    def worker_fixup(self) -> Any:
        if self._worker_fixup is None:
            self._worker_fixup = _PoolKeepingWorkerFixup(self.app)
        return self._worker_fixup

    @worker_fixup.setter
    def worker_fixup(self, value: Any) -> None:
        self._worker_fixup = value


def django_fixup(app: Celery) -> DjangoFixup:
    """In place of Celery's built-in ``celery.fixups.django:fixup``."""
    fixup = _DjangoFixup(app)
    fixup.install()
    return fixup


app = Celery("portal", fixups=[f"{__name__}:django_fixup"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@beat_init.connect
def _refuse_the_owners_credentials(**kwargs: Any) -> None:
    # SystemExit, not an exception: Celery logs and ignores exceptions from signal handlers.
    if problem := owner_credentials_problem("a Celery worker or beat", os.environ):
        raise SystemExit(problem)
