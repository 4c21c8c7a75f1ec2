"""Garbage sent to the public pickup URL is logged, never written to the append-only trail."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent


def test_a_link_that_names_no_package_is_404_and_not_audited(db: Any) -> None:
    before = AuditEvent.objects.count()
    for token in ("x", "not-a-token", "a" * 300):
        response = Client().get(reverse("portal:guest_open", args=[token]))
        assert response.status_code == 404
    assert AuditEvent.objects.count() == before
