"""Sending the daily audit digest (``audit.digest``) to every active privacy officer."""

from __future__ import annotations

from datetime import date

from accounts.models import Role, User
from audit.digest import digest_compute


def audit_digest_send(*, day: date) -> int:
    """E-mail the digest of ``day`` to each active privacy officer; returns how many.

    Counts and hashes only (no health information), in English like the staff pages. A
    failed send raises for the task's retry, which sends to everyone again: a second
    copy of a digest is harmless, a missing one is not.
    """
    # The task module's sender: its errors carry an SMTP code, never an address.
    from accounts.tasks import email_send

    digest = digest_compute(day=day)
    officers = User.objects.filter(role=Role.PRIVACY_OFFICER, is_active=True).order_by("pk")
    sent = 0
    for officer in officers:
        email_send(
            to=officer.email,
            template="accounts/email/audit_digest",
            context={"digest": digest},
            language="en",
        )
        sent += 1
    return sent
