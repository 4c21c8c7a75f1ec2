"""One helper renders and sends every e-mail: a subject, a text and an HTML template.

E-mails never carry health information: templates get the organisation's name and
links, nothing about the patient's care.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


@dataclass(frozen=True)
class RenderedEmail:
    """A rendered subject, text and HTML, to build one message or many (batched notices)."""

    subject: str
    text: str
    html: str

    def build(
        self, *, to: str, headers: dict[str, str] | None = None, connection: Any = None
    ) -> EmailMultiAlternatives:
        message = EmailMultiAlternatives(
            self.subject,
            self.text,
            settings.DEFAULT_FROM_EMAIL,
            [to],
            headers=headers,
            connection=connection,
        )
        message.attach_alternative(self.html, "text/html")
        return message


def email_render(
    *, template: str, context: dict[str, Any] | None = None, language: str | None = None
) -> RenderedEmail:
    """Render ``<template>_subject.txt``, ``.txt`` and ``.html`` with the organisation's name,
    in ``language`` (the recipient's; the site's default when they have none)."""
    context = {
        "organisation": settings.ORGANISATION_NAME,
        "portal_url": settings.PORTAL_BASE_URL,
        **(context or {}),
    }
    with translation.override(language or settings.LANGUAGE_CODE):
        return RenderedEmail(
            subject=" ".join(render_to_string(f"{template}_subject.txt", context).split()),
            text=render_to_string(f"{template}.txt", context),
            html=render_to_string(f"{template}.html", context),
        )


def email_send(
    *,
    to: str,
    template: str,
    context: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    language: str | None = None,
) -> None:
    """Render the template set in ``language`` and send it to ``to``."""
    rendered = email_render(template=template, context=context, language=language)
    rendered.build(to=to, headers=headers).send()
