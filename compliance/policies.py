"""Who may do what in compliance: the privacy officer keeps the policies and the register;
every member of staff acknowledges the policies; patients are not concerned."""

from __future__ import annotations

from accounts.models import Actor, Role


def manages_compliance(user: Actor) -> bool:
    """Publish policies, see who acknowledged them, keep the business associates register."""
    return bool(user.is_authenticated and user.is_active and user.role == Role.PRIVACY_OFFICER)


def acknowledges_policies(user: Actor) -> bool:
    """The workforce (45 CFR 164.530(b): training on the policies) is every staff role."""
    return bool(user.is_authenticated and user.is_active and user.is_staff_member)
