"""Who may see and record which patients' authorizations, waivers and accountings.

Records clerks and the privacy officer handle consent for every patient (paper forms
and written revocations arrive at the records desk). Clinicians see and record it for
the patients on their care team, since they are who send to a patient's other
providers. Only the privacy officer lists every authorization at once and manages the
e-mail risk statement. Patients see their own; a proxy acts for the patient within
their link's scope (``accounts.proxies.acts_for``), and only a personal representative
signs an authorization for them.
"""

from __future__ import annotations

from django.db.models import QuerySet

from accounts import proxies
from accounts.models import Actor, ProxyScope, Role, User
from consent.models import Authorization, Disclosure

ALL_PATIENTS_ROLES = frozenset({Role.RECORDS_CLERK, Role.PRIVACY_OFFICER})


def _staff(user: Actor) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff_member)


def patients_in_consent_scope(user: Actor) -> QuerySet[User]:
    patients = User.objects.filter(role=Role.PATIENT)
    if not _staff(user):
        return patients.none()
    if user.role in ALL_PATIENTS_ROLES:
        return patients
    return patients.filter(care_team__staff=user)


def may_handle_consent_of(user: Actor, patient: User) -> bool:
    if not _staff(user) or patient.role != Role.PATIENT:
        return False
    if user.role in ALL_PATIENTS_ROLES:
        return True
    return patients_in_consent_scope(user).filter(pk=patient.pk).exists()


def may_handle_consent(user: Actor) -> bool:
    """The staff consent screens; which patients they reach is ``patients_in_consent_scope``."""
    return _staff(user)


def may_record_outside_disclosures(user: Actor) -> bool:
    """Disclosures made outside the portal (164.512) are recorded at the records desk
    and by the privacy officer, who receive subpoenas, agency requests and reports."""
    return _staff(user) and user.role in ALL_PATIENTS_ROLES


def is_privacy_officer(user: Actor) -> bool:
    return _staff(user) and user.role == Role.PRIVACY_OFFICER


def authorizations_visible_to(user: Actor) -> QuerySet[Authorization]:
    authorizations = Authorization.objects.all()
    if not (user.is_authenticated and user.is_active):
        return authorizations.none()
    if user.is_patient:
        return authorizations.filter(patient=user)
    return authorizations.filter(patient__in=patients_in_consent_scope(user))


def disclosures_visible_to(user: Actor) -> QuerySet[Disclosure]:
    disclosures = Disclosure.objects.all()
    if not (user.is_authenticated and user.is_active):
        return disclosures.none()
    if user.is_patient:
        return disclosures.filter(patient=user)
    return disclosures.filter(patient__in=patients_in_consent_scope(user))


def may_manage_sharing_of(actor: User, patient: User) -> bool:
    """The patient's authorizations, preferences and e-mail waiver: the patient, or a
    proxy whose link lets them manage sharing."""
    return proxies.acts_for(actor, patient, ProxyScope.MANAGE_SHARING)


def may_sign_for(actor: User, patient: User) -> bool:
    """45 CFR 164.508(c)(1)(vi): an authorization is signed by the patient or by their
    personal representative (164.502(g)); an invited caregiver is neither."""
    if not may_manage_sharing_of(actor, patient):
        return False
    return actor.pk == patient.pk or bool(proxies.representative_authority(actor, patient))
