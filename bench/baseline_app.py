"""The baseline: a bare Django view that runs one query and renders a template.

Served by gunicorn (2 sync workers) exactly like the portal, so a ratio between the two
measures what the portal's own stack (middleware, sessions, CSP, OTP) costs.
"""

from __future__ import annotations

import os

import django
from django.conf import settings

from support.env import parse_database_url

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only-not-a-secret-0123456789",  # noqa: S106
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    DATABASES={"default": {**parse_database_url(os.environ["DATABASE_URL"]), "CONN_MAX_AGE": 60}},
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [],
            "OPTIONS": {
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {"page.html": "<!doctype html><title>ok</title><p>{{ value }}</p>"},
                    )
                ]
            },
        }
    ],
    INSTALLED_APPS=[],
    MIDDLEWARE=[],
)
django.setup()

from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.urls import path  # noqa: E402


def page(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (value,) = cursor.fetchone()
    return render(request, "page.html", {"value": value})


urlpatterns = [path("", page)]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
