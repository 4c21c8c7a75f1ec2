"""Who may read the audit log, and which events they may read.

One place answers both "may they?" and "which ones?", so the list, the detail page
and the export can never disagree. Roles are compared as strings: ``audit`` sits below
``accounts`` and does not import it.
"""

from __future__ import annotations

from django.db.models import QuerySet

from audit.context import Actor
from audit.models import ActorKind, AuditEvent, Outcome

PRIVACY_OFFICER = "privacy_officer"
PATIENT = "patient"
STAFF_ROLES = frozenset({"clinician", "records_clerk", PRIVACY_OFFICER})
PROXY = "proxy"
# Whose access "Who viewed my information" lists: the staff, and anyone acting for the
# patient through proxy access (45 CFR 164.502(g); issue 22).
ACCESS_SHOWN_ROLES = STAFF_ROLES | {PROXY}


def _role(user: Actor) -> str:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return ""
    return str(getattr(user, "role", ""))


def may_review_audit_log(user: Actor) -> bool:
    """The privacy officer reviews activity (45 CFR 164.308(a)(1)(ii)(D)); no one else."""
    return _role(user) == PRIVACY_OFFICER


def events_visible_to(user: Actor) -> QuerySet[AuditEvent]:
    if may_review_audit_log(user):
        return AuditEvent.objects.all()
    return AuditEvent.objects.none()


def may_see_access_history(user: Actor) -> bool:
    """A patient sees who on the staff accessed their information."""
    return _role(user) == PATIENT


def access_history_visible_to(user: Actor) -> QuerySet[AuditEvent]:
    """Successful actions by staff members, and by proxies acting for the patient, on
    this patient's information.

    Denied attempts showed the staff member nothing, so they are the privacy officer's
    business rather than an entry in "who viewed my information"; the patient's own
    actions are not shown either.
    """
    if user is None or not may_see_access_history(user):
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(
        patient_id=user.pk,
        actor_kind=ActorKind.USER,
        actor_role__in=ACCESS_SHOWN_ROLES,
        outcome=Outcome.SUCCESS,
    )
