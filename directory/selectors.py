"""What the directory shows: one page per patient gathering what the viewer may see.

Each part comes from its own app's policy (threads, authorizations, requests,
disclosures), so the page never shows more than that app's own screens would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts import proxies as proxy_rules
from accounts.models import STAFF_ROLES, Actor, CareTeamMember, ProxyLink, ProxyScope, Role, User
from accounts.policies import (
    can_manage_proxies,
    can_recover,
    can_reinvite,
    can_suspend_proxies,
)
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


# A link's state, in the order the page checks them: the first that holds is shown.
PROXY_STATES = {
    "revoked": "Ended",
    "suspended": "Suspended",
    "aged_out": "Ended by the patient's age",
    "ended": "Past its end date",
    "not_started": "Not started yet",
    "reaches_nothing": "Reaches nothing today",
    "in_force": "In force",
}


def proxy_state(link: ProxyLink, today: date | None = None) -> str:
    """Where a link stands today, for staff: one of ``PROXY_STATES``. "reaches_nothing" is
    a link that is otherwise current but lets its proxy do nothing (an account
    deactivated, say): ``accounts.proxies.scopes_in_force`` is the one answer to that."""
    today = today or timezone.localdate()
    if link.revoked_at:
        return "revoked"
    if link.suspended_at:
        return "suspended"
    if link.aged_out_at or proxy_rules.minor_stage(link, today) == "ended":
        return "aged_out"
    if link.ends_on is not None and today > link.ends_on:
        return "ended"
    if today < link.starts_on:
        return "not_started"
    return "in_force" if proxy_rules.scopes_in_force(link, today) else "reaches_nothing"


@dataclass(frozen=True)
class ProxyRow:
    """One of the patient's proxies as staff see it: the link, its state, and what it
    lets the proxy do today (a parent's narrowed by the patient's age)."""

    link: ProxyLink
    state: str
    scopes: list[str]
    scopes_today: list[str]
    may_download: bool
    may_revoke: bool
    may_suspend: bool
    # Looking after the proxy's own account, as for a patient's: a new invitation while
    # no password is set, a recovery link once one is.
    may_reinvite: bool = False
    may_recover: bool = False

    @property
    def state_label(self) -> str:
        return PROXY_STATES[self.state]

    @property
    def narrowed(self) -> bool:
        return self.state == "in_force" and self.scopes_today != self.scopes


def _scope_labels(values: Any) -> list[str]:
    return [str(ProxyScope(value).label) for value in ProxyScope.values if value in set(values)]


def proxies_of(*, user: Actor, patient: User) -> tuple[ProxyRow, ...]:
    """The patient's proxy links, newest first, with what ``user`` may do to each (the
    page's opening is the audited read: ``patient_page``)."""
    today = timezone.localdate()
    manages, suspends = can_manage_proxies(user), can_suspend_proxies(user)
    links = (
        ProxyLink.objects.filter(patient=patient)
        .select_related("proxy", "verified_by", "revoked_by", "suspended_by")
        .order_by("-created_at")
    )
    if suspends:  # the privacy officer reads the suspensions' reasons: their keys at once
        links = links.select_related("data_key")
    rows = []
    for link in links:
        link.patient = patient  # the page's patient, profile loaded: no query per row
        state = proxy_state(link, today)
        live = state not in ("revoked", "aged_out")
        proxy = link.proxy
        helped = manages and live and proxy.is_active
        rows.append(
            ProxyRow(
                link=link,
                state=state,
                scopes=_scope_labels(link.scopes),
                scopes_today=_scope_labels(proxy_rules.scopes_in_force(link, today)),
                may_download=manages and link.evidence_id is not None,
                may_revoke=manages and live,
                may_suspend=suspends and live and state != "suspended",
                may_reinvite=helped
                and can_reinvite(user, proxy)
                and not proxy.has_usable_password(),
                may_recover=helped and can_recover(user, proxy) and proxy.has_usable_password(),
            )
        )
    return tuple(rows)


def proxy_link_for(*, user: Actor, patient: User, link_id: Any) -> ProxyLink:
    """One of the patient's links, for staff who manage proxies; 404 otherwise."""
    if not can_manage_proxies(user):
        raise Http404
    link = (
        ProxyLink.objects.filter(patient=patient, pk=link_id)
        .select_related("proxy", "evidence")
        .first()
    )
    if link is None:
        raise Http404
    return link


def proxy_evidence_download_record(*, link: ProxyLink) -> None:
    """A download of the scanned authority: a read of the patient's record."""
    event_record(
        action=DirectoryAction.PROXY_EVIDENCE_DOWNLOADED,
        target=link,
        patient_id=link.patient_id,
        details={"proxy_id": link.proxy_id, "kind": link.kind},
    )


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
    proxies: tuple[ProxyRow, ...] = ()


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
        proxies=proxies_of(user=user, patient=patient),
    )
    event_record(
        action=DirectoryAction.PATIENT_PAGE_VIEWED,
        target=patient,
        patient_id=patient.pk,
        details={
            "threads": len(threads),
            "requests": len(requests),
            "proxies": len(page.proxies),
        },
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
