"""One helper renders and sends every e-mail: a subject, a text and an HTML template.

E-mails never carry health information: templates get the organisation's name and
links, nothing about the patient's care.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def email_send(
    *,
    to: str,
    template: str,
    context: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Render ``<template>_subject.txt``, ``.txt`` and ``.html`` and send them to ``to``."""
    context = {
        "organisation": settings.ORGANISATION_NAME,
        "portal_url": settings.PORTAL_BASE_URL,
        **(context or {}),
    }
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, [to], headers=headers
    )
    message.attach_alternative(html, "text/html")
    message.send()
