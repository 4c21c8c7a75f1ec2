"""Who sees the compliance evidence: the privacy officer alone (DESIGN: roles). The
figures count every account, request and key, so no other role has a scoped view."""

from __future__ import annotations

from accounts.models import Actor, Role


def reviews_evidence(user: Actor) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role == Role.PRIVACY_OFFICER)
