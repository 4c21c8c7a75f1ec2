"""Who may do what with accounts. One place answers both "may they?" and "which ones?"."""

from __future__ import annotations

from accounts.models import PORTAL_ROLES, Actor, Role

PATIENT_ENROLLERS = frozenset({Role.CLINICIAN, Role.RECORDS_CLERK, Role.PRIVACY_OFFICER})


def can_enroll_patients(user: Actor) -> bool:
    return bool(user.is_authenticated and user.role in PATIENT_ENROLLERS)


def can_create_staff(user: Actor) -> bool:
    return bool(user.is_authenticated and user.role == Role.PRIVACY_OFFICER)


# Who records a personal representative's authority (parent, guardian, power of attorney)
# after checking it, and ends a link: the records clerk and the privacy officer.
PROXY_MANAGERS = frozenset({Role.RECORDS_CLERK, Role.PRIVACY_OFFICER})


def can_manage_proxies(user: Actor) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in PROXY_MANAGERS)


def can_suspend_proxies(user: Actor) -> bool:
    """Suspending a link at once (45 CFR 164.502(g)(5)): the privacy officer."""
    return bool(user.is_authenticated and user.is_active and user.role == Role.PRIVACY_OFFICER)


def can_read_demo_outbox(user: Actor) -> bool:
    # The outbox holds invitation links: only the privacy officer may read it.
    return bool(user.is_authenticated and user.role == Role.PRIVACY_OFFICER)


# --- looking after other people's accounts (the patient page and the staff screens) ------


def _on_care_team(user: Actor, patient: Actor) -> bool:
    from accounts.models import CareTeamMember

    return CareTeamMember.objects.filter(patient=patient, staff=user).exists()


def can_recover(user: Actor, account: Actor) -> bool:
    """Who may verify identity and send a recovery link (45 CFR 164.514(h)): for a patient
    or a proxy, a records clerk or the privacy officer; for staff, a privacy officer, never
    the person themselves (the privacy officer's own account: another one, or the server
    command)."""
    if not user.is_authenticated or not user.is_active or user.pk == account.pk:
        return False
    if account.role in PORTAL_ROLES:
        return user.role in (Role.RECORDS_CLERK, Role.PRIVACY_OFFICER)
    return user.role == Role.PRIVACY_OFFICER


def can_reinvite(user: Actor, account: Actor) -> bool:
    """Resend or replace a lost or expired invitation: whoever may enroll or create such an
    account (a clinician only for a patient on their care team; a proxy's, whoever records
    proxies)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if account.role == Role.PROXY:
        return user.role in PROXY_MANAGERS
    if account.role != Role.PATIENT:
        return user.role == Role.PRIVACY_OFFICER
    if user.role == Role.CLINICIAN:
        return _on_care_team(user, account)
    return user.role in PATIENT_ENROLLERS


def can_manage_care_team(user: Actor, patient: Actor) -> bool:
    """The privacy officer, and clinicians already on the patient's team."""
    if not user.is_authenticated or not user.is_active or patient.role != Role.PATIENT:
        return False
    if user.role == Role.PRIVACY_OFFICER:
        return True
    return user.role == Role.CLINICIAN and _on_care_team(user, patient)


def can_offboard(user: Actor, account: Actor) -> bool:
    """Deactivate, reactivate, change a role: the privacy officer, on anyone else."""
    return bool(
        user.is_authenticated
        and user.is_active
        and user.role == Role.PRIVACY_OFFICER
        and user.pk != account.pk
    )
