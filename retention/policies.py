"""Who may manage retention: the privacy officer alone (DESIGN: roles)."""

from __future__ import annotations

from accounts.models import Actor, Role


def manages_retention(user: Actor) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role == Role.PRIVACY_OFFICER)
