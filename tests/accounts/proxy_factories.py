"""Proxies for tests: a proxy account and a link to a patient, made as staff would."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.urls import reverse

from accounts.models import ProxyKind, ProxyLink, ProxyScope, Role, User
from encryption.files import file_store
from encryption.uploads import BufferReader
from tests.conftest import make_user

EVERYTHING = list(ProxyScope.values)


def make_proxy(email: str = "parker.proxy@mail.test", full_name: str = "Parker Lindqvist") -> User:
    return make_user(email, full_name, Role.PROXY)


def link_made(
    *,
    proxy: User,
    patient: User,
    by: User,
    kind: str = ProxyKind.GUARDIAN,
    scopes: list[str] | None = None,
    starts_on: date | None = None,
    **extra: Any,
) -> ProxyLink:
    """A link in force (``extra`` sets any other field: ``ends_on``, ``revoked_at``...).
    A representative's link carries a scanned document, as the constraint wants."""
    link = ProxyLink(
        proxy=proxy,
        patient=patient,
        kind=kind,
        scopes=EVERYTHING if scopes is None else scopes,
        created_by=by,
        **extra,
    )
    if starts_on is not None:
        link.starts_on = starts_on
    if kind != ProxyKind.CAREGIVER:
        link.evidence = file_store(
            source=BufferReader(b"%PDF-1.4 scanned order"),
            name="order.pdf",
            content_type="application/pdf",
        )
        link.verified_by = by
    link.save(force_insert=True)
    return link


def acting_client(client_for: Any, proxy: User, patient: User) -> Any:
    """The proxy's signed-in client, having chosen to act for ``patient``."""
    client = client_for(proxy)
    answer = client.post(reverse("portal:acting_choose"), {"patient": patient.pk})
    assert answer.status_code == 302
    return client
