"""The Celery app. Tasks are enqueued after commit and take ids, never patient data."""

import os
from typing import Any

from celery import Celery
from celery.signals import beat_init, worker_init

from support.env import owner_credentials_problem

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@beat_init.connect
def _refuse_the_owners_credentials(**kwargs: Any) -> None:
    # SystemExit, not an exception: Celery logs and ignores exceptions from signal handlers.
    if problem := owner_credentials_problem("a Celery worker or beat", os.environ):
        raise SystemExit(problem)
