"""Looking after other people's accounts: invitations resent, care teams, offboarding and
roles. Each change is the privacy officer's or the care team's (``accounts.policies``),
audited with ids and codes only."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts import policies
from accounts.actions import AccountsAction
from accounts.errors import AccountsError
from accounts.models import STAFF_ROLES, CareTeamMember, Invitation, Role, User
from accounts.services.enrollment import care_team_add
from accounts.services.invitations import invitation_issue
from audit.services import event_record


def invitation_resend(*, actor: User, user: User) -> Invitation:
    """A new invitation link for an account that never set its password; the old link
    stops working. An account that has a password uses a reset or a recovery instead."""
    if not policies.can_reinvite(actor, user):
        raise AccountsError("not_allowed", "You cannot invite this account.")
    if user.has_usable_password():
        raise AccountsError(
            "account_active",
            "This account already has a password: the person can reset it, or staff can "
            "send a recovery link if the second factor was lost.",
        )
    if not user.is_active:
        raise AccountsError("inactive", "Reactivate the account first.")
    with transaction.atomic():
        return invitation_issue(user=user, actor=actor)


def care_team_member_add(*, actor: User, patient: User, staff: User) -> CareTeamMember:
    if not policies.can_manage_care_team(actor, patient):
        raise AccountsError("not_allowed", "You cannot change this patient's care team.")
    if staff.role != Role.CLINICIAN or not staff.is_active:
        raise AccountsError("not_clinician", "Only an active clinician joins a care team.")
    return care_team_add(actor=actor, patient=patient, staff=staff)


@transaction.atomic
def care_team_member_remove(*, actor: User, patient: User, staff: User) -> None:
    """Messaging scope follows at once. The last clinician goes only by the privacy
    officer's hand: a patient without one can receive no message from a clinician."""
    if not policies.can_manage_care_team(actor, patient):
        raise AccountsError("not_allowed", "You cannot change this patient's care team.")
    members = CareTeamMember.objects.select_for_update().filter(patient=patient)
    member = members.filter(staff=staff).first()
    if member is None:
        return
    others = members.exclude(pk=member.pk).filter(staff__role=Role.CLINICIAN).count()
    if others == 0 and actor.role != Role.PRIVACY_OFFICER:
        raise AccountsError(
            "last_clinician", "Only the privacy officer may remove the last clinician."
        )
    member_pk = member.pk
    member.delete()
    event_record(
        action=AccountsAction.CARE_TEAM_REMOVED,
        target_type="accounts.careteammember",
        target_id=str(member_pk),
        patient_id=patient.pk,
        details={"staff_id": staff.pk},
    )


def _sessions_end(user: User) -> int:
    """Delete every server-side session of ``user`` (the security stamp covers any left)."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def account_deactivate(*, actor: User, user: User) -> None:
    """Every session ends at once, the second factors stop working (an inactive account
    cannot sign in), open invitation and recovery links die."""
    if not policies.can_offboard(actor, user):
        raise AccountsError("not_allowed", "Only the privacy officer deactivates accounts.")
    if not user.is_active:
        return
    now = timezone.now()
    user.is_active = False
    user.rotate_security_stamp()
    user.save(update_fields=["is_active", "security_stamp"])
    user.invitations.filter(used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    user.recoveries.filter(used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    ended = _sessions_end(user)
    event_record(
        action=AccountsAction.ACCOUNT_DEACTIVATED,
        target=user,
        patient_id=user.audit_patient_id,
        details={"sessions_ended": ended},
    )


@transaction.atomic
def account_reactivate(*, actor: User, user: User, identity_method: str) -> None:
    """Back in only through a new recovery: its old factors go, identity is verified
    again, and a recovery link is sent."""
    from accounts.services.recovery import recovery_issue

    if not policies.can_offboard(actor, user):
        raise AccountsError("not_allowed", "Only the privacy officer reactivates accounts.")
    if user.is_active:
        return
    user.is_active = True
    user.rotate_security_stamp()
    user.save(update_fields=["is_active", "security_stamp"])
    event_record(
        action=AccountsAction.ACCOUNT_REACTIVATED, target=user, patient_id=user.audit_patient_id
    )
    if user.has_usable_password():
        recovery_issue(actor=actor, user=user, identity_method=identity_method)


@transaction.atomic
def role_change(*, actor: User, user: User, role: str) -> User:
    if not policies.can_offboard(actor, user):
        raise AccountsError("not_allowed", "Only the privacy officer changes roles.")
    if role not in STAFF_ROLES or user.role not in STAFF_ROLES:
        raise AccountsError("not_a_staff_role", "Roles change between staff roles only.")
    if role == user.role:
        return user
    old = user.role
    user.role = role
    user.rotate_security_stamp()
    user.save(update_fields=["role", "security_stamp"])
    event_record(action=AccountsAction.ROLE_CHANGED, target=user, details={"old": old, "new": role})
    return user
