"""New accounts: patients enrolled by staff after identity verification, staff
accounts, the first privacy officer, and care-team membership at enrollment.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.utils import timezone

from accounts.actions import AccountsAction
from accounts.errors import AccountsError
from accounts.models import (
    STAFF_ROLES,
    CareTeamMember,
    Invitation,
    PatientProfile,
    Role,
    User,
)
from accounts.services.invitations import (
    _invitation_create,
    invitation_issue,
    invitation_token_make,
)
from audit.services import event_record


@transaction.atomic
def patient_enroll(
    *,
    actor: User,
    email: str,
    legal_name: str,
    date_of_birth: date,
    mrn: str,
    identity_method: str,
) -> PatientProfile:
    """Create a patient whose identity ``actor`` has just verified, and invite them."""
    if User.objects.filter(email__iexact=email).exists():
        raise AccountsError("email_taken", "An account with this e-mail address already exists.")
    if PatientProfile.objects.filter(mrn=mrn).exists():
        raise AccountsError("mrn_taken", "A patient with this MRN is already enrolled.")
    user = User.objects.create_user(email=email, full_name=legal_name, role=Role.PATIENT)
    profile = PatientProfile.objects.create(
        user=user,
        legal_name=legal_name,
        date_of_birth=date_of_birth,
        mrn=mrn,
        identity_verified_by=actor,
        identity_method=identity_method,
        identity_verified_at=timezone.now(),
    )
    event_record(
        action=AccountsAction.PATIENT_ENROLLED,
        target=user,
        patient_id=user.pk,
        details={"identity_method": identity_method},
    )
    if actor.role == Role.CLINICIAN:
        care_team_add(actor=actor, patient=user, staff=actor)
    invitation_issue(user=user, actor=actor)
    return profile


def care_team_add(*, actor: User | None, patient: User, staff: User) -> CareTeamMember:
    member, created = CareTeamMember.objects.get_or_create(
        patient=patient, staff=staff, defaults={"added_by": actor}
    )
    if created:
        event_record(
            action=AccountsAction.CARE_TEAM_ADDED,
            target=member,
            patient_id=patient.pk,
            details={"staff_id": staff.pk},
        )
    return member


@transaction.atomic
def staff_create(*, actor: User, email: str, full_name: str, role: str) -> User:
    if role not in STAFF_ROLES:
        raise AccountsError("not_a_staff_role", "Choose a staff role.")
    if User.objects.filter(email__iexact=email).exists():
        raise AccountsError("email_taken", "An account with this e-mail address already exists.")
    user = User.objects.create_user(email=email, full_name=full_name, role=role)
    event_record(action=AccountsAction.STAFF_CREATED, target=user, details={"role": role})
    invitation_issue(user=user, actor=actor)
    return user


@transaction.atomic
def privacy_officer_bootstrap(*, email: str, full_name: str) -> str:
    """The first privacy officer of a new installation; returns their invitation token.

    The link is handed over on the operator's console instead of by e-mail (mail may not
    work yet), so it is marked sent and the sweep never replaces it. Run again before
    it is used, it makes a new link for the same account. Once any privacy officer has
    a password, everything else is done in the browser and this refuses.
    """
    officers = User.objects.filter(role=Role.PRIVACY_OFFICER, is_active=True)
    if officers.exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX).exists():
        raise AccountsError(
            "officer_exists",
            "A privacy officer already has an account: they create further accounts in "
            "the browser (New staff account).",
        )
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, full_name=full_name, role=Role.PRIVACY_OFFICER)
        event_record(
            action=AccountsAction.STAFF_CREATED,
            target=user,
            details={"role": Role.PRIVACY_OFFICER, "via": "bootstrap"},
        )
    elif user.role != Role.PRIVACY_OFFICER:
        raise AccountsError("email_taken", "An account with this e-mail address already exists.")
    invitation = _invitation_create(user=user, actor=None)
    token = invitation_token_make(invitation)
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())
    return token
