"""Who may manage retention: the privacy officer alone (DESIGN: roles)."""

from __future__ import annotations

from typing import Any

from accounts.models import Role


def manages_retention(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role == Role.PRIVACY_OFFICER)
