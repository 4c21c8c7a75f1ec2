"""What the directory shows: one page per patient gathering what the viewer may see.

Each part comes from its own app's policy (threads, authorizations, requests,
disclosures), so the page never shows more than that app's own screens would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import STAFF_ROLES, Actor, CareTeamMember, Role, User
from audit.services import event_record
from consent import policies as consent_policies
from consent import selectors as consent_selectors
from directory import policies
from directory.actions import DirectoryAction
from messaging import policies as messaging_policies
from messaging.delivery_decision import DeliveryChoice
from messaging.delivery_settings import delivery_choice_for
from records import policies as records_policies


def patient_for(*, user: Actor, patient_id: Any) -> User:
    try:
        pk = int(patient_id)
    except (TypeError, ValueError):
        raise Http404 from None
    patient = (
        policies.patients_in_directory(user)
        .select_related("patient_profile__identity_verified_by")
        .filter(pk=pk)
        .first()
    )
    if patient is None:
        raise Http404
    return patient


def account_state(account: User) -> str:
    """invited, active, locked, recovering or deactivated: what staff need to help."""
    if not account.is_active:
        return "deactivated"
    if not account.has_usable_password():
        return "invited"
    cooloff = timezone.now() - settings.AXES_COOLOFF_TIME
    if AccessAttempt.objects.filter(
        username__iexact=account.email,
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
        attempt_time__gte=cooloff,
    ).exists():
        return "locked"
    if account.recoveries.filter(
        used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).exists():
        return "recovering"
    return "active"


@dataclass(frozen=True)
class PatientPage:
    patient: User
    state: str
    care_team: list[CareTeamMember]
    clinicians_to_add: list[User]
    threads: list[Any]
    authorizations: int
    waiver_in_force: bool
    postal_only: bool
    requests: list[Any]
    disclosures: int
    # How a message would reach the patient now; None for a viewer who may not write to them.
    delivery: DeliveryChoice | None = None


def patient_page(*, user: Actor, patient: User) -> PatientPage:
    """Gathered for ``user`` and recorded: one audit event per opening (45 CFR 164.312(b))."""
    team = list(CareTeamMember.objects.filter(patient=patient).select_related("staff", "added_by"))
    on_team = {member.staff_id for member in team}
    clinicians = list(
        User.objects.filter(role=Role.CLINICIAN, is_active=True)
        .exclude(pk__in=on_team)
        .order_by("full_name")[:200]
    )
    threads = list(
        messaging_policies.threads_visible_to(user)
        .filter(patient=patient)
        .select_related("data_key")
        .order_by("-last_message_at")[:20]
    )
    requests = list(
        records_policies.requests_visible_to(user)
        .filter(patient=patient)
        .order_by("-received_at")[:20]
    )
    may_consent = consent_policies.may_handle_consent_of(user, patient)
    authorizations = (
        consent_selectors.authorizations_current_of(patient).count() if may_consent else 0
    )
    disclosures = (
        consent_policies.disclosures_visible_to(user).filter(patient=patient).count()
        if may_consent
        else 0
    )
    preference = consent_selectors.preferences_of(patient)
    page = PatientPage(
        patient=patient,
        state=account_state(patient),
        care_team=team,
        clinicians_to_add=clinicians,
        threads=threads,
        authorizations=authorizations,
        waiver_in_force=may_consent and consent_selectors.waiver_in_force(patient) is not None,
        postal_only=bool(preference and preference.postal_only),
        requests=requests,
        disclosures=disclosures,
        delivery=delivery_choice_for(patient=patient)
        if messaging_policies.may_message(user, patient)
        else None,
    )
    event_record(
        action=DirectoryAction.PATIENT_PAGE_VIEWED,
        target=patient,
        patient_id=patient.pk,
        details={"threads": len(threads), "requests": len(requests)},
    )
    return page


def staff_accounts(*, user: Actor) -> QuerySet[User]:
    if not policies.manages_staff(user):
        return User.objects.none()
    return User.objects.filter(role__in=STAFF_ROLES).order_by("full_name")


def staff_list_record(*, shown: int) -> None:
    event_record(action=DirectoryAction.STAFF_LISTED, details={"shown": shown})


def staff_for(*, user: Actor, staff_id: Any) -> User:
    try:
        pk = int(staff_id)
    except (TypeError, ValueError):
        raise Http404 from None
    account = staff_accounts(user=user).filter(pk=pk).first()
    if account is None:
        raise Http404
    event_record(action=DirectoryAction.STAFF_PAGE_VIEWED, target=account)
    return account


@dataclass(frozen=True)
class OpenWork:
    """What a departing staff member leaves assigned to them, to reassign: links and dates
    only (each page it leads to is audited when opened)."""

    threads: list[Any]
    requests: list[Any]


def assigned_open_work(account: User) -> OpenWork:
    from messaging.models import Thread
    from records.models import OPEN_STATES, RecordRequest

    threads = Thread.objects.filter(assigned_to=account, handled_at__isnull=True)
    requests = RecordRequest.objects.filter(assigned_to=account, state__in=OPEN_STATES)
    return OpenWork(
        threads=list(threads.order_by("last_message_at").only("pk", "last_message_at")),
        requests=list(requests.order_by("due_at").only("pk", "received_at", "due_at", "state")),
    )
