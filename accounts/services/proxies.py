"""Proxy links: staff record a representative's authority, an adult patient invites a
caregiver, either ends a link, the privacy officer suspends one at once.

The daily age job (``proxy_ages_apply``) records what the age rules already do at
every request: a parent's link narrowed at the first threshold, ended at the second.

Each write is audited with the patient's id, so the patient's "who viewed my
information" page and the privacy officer's search both find it; details hold ids and
codes only (the suspension's reason is encrypted on the link, never in the trail).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts import proxies
from accounts.actions import AccountsAction
from accounts.errors import AccountsError
from accounts.models import REPRESENTATIVE_KINDS, ProxyKind, ProxyLink, ProxyScope, Role, User
from accounts.policies import can_manage_proxies, can_suspend_proxies
from accounts.services.invitations import invitation_issue
from audit.services import event_record
from encryption.files import file_store
from encryption.uploads import CheckedUpload


def _scopes_checked(scopes: Iterable[str]) -> list[str]:
    chosen = [s for s in ProxyScope.values if s in set(scopes)]
    if not chosen:
        raise AccountsError("no_scope", "Choose at least one thing the proxy may do.")
    return chosen


def _dates_checked(starts_on: date, ends_on: date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise AccountsError("dates", "The end date is before the start date.")


def proxy_account_for(*, actor: User, email: str, full_name: str) -> User:
    """The proxy account for ``email``: the existing one (invited again if it was never set
    up), or a new one invited to set its password and second factor (the patient's own
    sign-in, lockout and recovery)."""
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        if existing.role != Role.PROXY:
            raise AccountsError(
                "email_other_account",
                "This e-mail address belongs to another kind of account; a proxy needs "
                "an account of their own.",
            )
        if existing.is_active and not existing.has_usable_password():
            # Never set up (the link lost or expired): a new link, the old one stops working.
            invitation_issue(user=existing, actor=actor)
        return existing
    # A caregiver a patient invites most likely reads the patient's language (their
    # invitation is written in it); staff's representatives start with the default.
    extra = {"language": actor.language} if actor.role == Role.PATIENT else {}
    user = User.objects.create_user(email=email, full_name=full_name, role=Role.PROXY, **extra)
    event_record(action=AccountsAction.PROXY_ACCOUNT_CREATED, target=user)
    invitation_issue(user=user, actor=actor)
    return user


def _live_link_refused(proxy: User, patient: User) -> None:
    live = ProxyLink.objects.filter(
        proxy=proxy, patient=patient, revoked_at__isnull=True, aged_out_at__isnull=True
    )
    if live.exists():
        raise AccountsError(
            "already_linked", "This person already has a link to the patient: change or end it."
        )


def _created_record(link: ProxyLink) -> None:
    event_record(
        action=AccountsAction.PROXY_LINK_CREATED,
        target=link,
        patient_id=link.patient_id,
        details={"proxy_id": link.proxy_id, "kind": link.kind, "scopes": list(link.scopes)},
    )


@transaction.atomic
def representative_link_create(
    *,
    actor: User,
    patient: User,
    proxy: User,
    kind: str,
    scopes: Iterable[str],
    starts_on: date,
    ends_on: date | None,
    identity_method: str,
    evidence_kind: str,
    evidence: CheckedUpload,
) -> ProxyLink:
    """Staff have verified the proxy's identity and the authority's document: link them.
    A parent's link is for a minor only (the age rules end it at the organisation's age)."""
    if not can_manage_proxies(actor) or patient.role != Role.PATIENT:
        raise AccountsError("not_allowed", "You may not record proxies for this patient.")
    if kind not in REPRESENTATIVE_KINDS:
        raise AccountsError("kind", "Choose the authority the proxy acts under.")
    if proxy.role != Role.PROXY:
        raise AccountsError("not_proxy", "A proxy needs an account of their own.")
    chosen = _scopes_checked(scopes)
    _dates_checked(starts_on, ends_on)
    _live_link_refused(proxy, patient)
    link = ProxyLink(
        proxy=proxy,
        patient=patient,
        kind=kind,
        scopes=chosen,
        starts_on=starts_on,
        ends_on=ends_on,
        identity_method=identity_method,
        evidence_kind=evidence_kind,
        verified_by=actor,
        verified_at=timezone.now(),
        created_by=actor,
    )
    if kind == ProxyKind.PARENT and proxies.minor_stage(link) == "ended":
        raise AccountsError(
            "not_minor", "The patient is not a minor under this organisation's age rules."
        )
    link.evidence = file_store(
        source=evidence.reader(), name=evidence.name, content_type=evidence.content_type
    )
    link.save(force_insert=True)
    _created_record(link)
    return link


def may_invite_caregiver(user: User) -> bool:
    """An active adult patient (by the organisation's age for the end of parental access)
    invites their own caregivers; the portal's page asks the same question."""
    if not (user.is_authenticated and user.is_active and user.role == Role.PATIENT):
        return False
    born = getattr(getattr(user, "patient_profile", None), "date_of_birth", None)
    adult_at = proxies.minor_rules().ends_at
    return born is not None and proxies.age_on(born, timezone.localdate()) >= adult_at


@transaction.atomic
def representative_invite(
    *,
    actor: User,
    patient: User,
    email: str,
    full_name: str,
    kind: str,
    scopes: Iterable[str],
    starts_on: date,
    ends_on: date | None,
    identity_method: str,
    evidence_kind: str,
    evidence: CheckedUpload,
) -> ProxyLink:
    """The staff form's whole change: the proxy's account (theirs already, or a new one
    invited once this commits) and the link, in one transaction, so a refused link
    leaves no account behind and sends no invitation."""
    if not can_manage_proxies(actor):
        raise AccountsError("not_allowed", "You may not record proxies for this patient.")
    proxy = proxy_account_for(actor=actor, email=email, full_name=full_name)
    return representative_link_create(
        actor=actor,
        patient=patient,
        proxy=proxy,
        kind=kind,
        scopes=scopes,
        starts_on=starts_on,
        ends_on=ends_on,
        identity_method=identity_method,
        evidence_kind=evidence_kind,
        evidence=evidence,
    )


@transaction.atomic
def caregiver_invite(
    *,
    actor: User,
    email: str,
    full_name: str,
    scopes: Iterable[str],
    ends_on: date | None = None,
) -> ProxyLink:
    """An adult patient invites a caregiver with the scope they choose (the view has
    asked for a fresh second factor). The caregiver is not a personal representative."""
    if actor.role != Role.PATIENT or not actor.is_active:
        raise AccountsError("not_patient", "Only a patient invites their own caregiver.")
    if not may_invite_caregiver(actor):
        raise AccountsError("not_adult", "Only an adult patient can invite a caregiver.")
    chosen = _scopes_checked(scopes)
    today = timezone.localdate()
    _dates_checked(today, ends_on)
    proxy = proxy_account_for(actor=actor, email=email, full_name=full_name)
    _live_link_refused(proxy, actor)
    link = ProxyLink.objects.create(
        proxy=proxy,
        patient=actor,
        kind=ProxyKind.CAREGIVER,
        scopes=chosen,
        starts_on=today,
        ends_on=ends_on,
        created_by=actor,
    )
    _created_record(link)
    return link


def may_revoke(user: User, link: ProxyLink) -> bool:
    """The patient ends their own caregiver's link; staff who manage proxies end any."""
    if can_manage_proxies(user):
        return True
    return user.pk == link.patient_id and link.kind == ProxyKind.CAREGIVER


@transaction.atomic
def proxy_link_revoke(*, actor: User, link: ProxyLink) -> ProxyLink:
    locked = ProxyLink.objects.select_for_update().get(pk=link.pk)
    if not may_revoke(actor, locked):
        raise AccountsError("not_allowed", "You may not end this link.")
    if locked.revoked_at is None:
        locked.revoked_at, locked.revoked_by = timezone.now(), actor
        locked.save(update_fields=["revoked_at", "revoked_by"])
        event_record(
            action=AccountsAction.PROXY_LINK_REVOKED,
            target=locked,
            patient_id=locked.patient_id,
            details={"proxy_id": locked.proxy_id},
        )
    return locked


@transaction.atomic
def proxy_link_suspend(*, actor: User, link: ProxyLink, reason: str) -> ProxyLink:
    """The privacy officer stops a link at once (164.502(g)(5): reasonable belief of
    abuse, neglect or endangerment); the reason is kept encrypted on the link."""
    if not can_suspend_proxies(actor):
        raise AccountsError("not_allowed", "Only the privacy officer suspends a proxy.")
    if not reason.strip():
        raise AccountsError("reason", "Give the reason for the suspension.")
    locked = ProxyLink.objects.select_for_update().get(pk=link.pk)
    if locked.suspended_at is None:
        locked.suspended_at, locked.suspended_by = timezone.now(), actor
        locked.suspension_reason = reason.strip()
        locked.save(update_fields=["suspended_at", "suspended_by", "suspension_reason"])
        event_record(
            action=AccountsAction.PROXY_LINK_SUSPENDED,
            target=locked,
            patient_id=locked.patient_id,
            details={"proxy_id": locked.proxy_id},
        )
    return locked


def acting_for_record(*, acting: proxies.Acting) -> None:
    """A proxy chose to act for a patient: on the patient's access history."""
    event_record(
        action=AccountsAction.PROXY_ACTING_FOR, target=acting.link, patient_id=acting.patient.pk
    )


# --- the daily age job ---------------------------------------------------------------------


def _born_by(today: date, years: int) -> date:
    """The latest birth date of someone ``years`` old or more on ``today`` (``age_on``'s
    rule: a 29 February birthday counts on 1 March, so 28 February in other years)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February, to a year without one
        return today.replace(year=today.year - years, day=28)


def parent_links_due(today: date) -> QuerySet[ProxyLink]:
    """The live parent links the age job may have something to record for: patients past
    the end of parental access, and patients past the first age whose link still stores
    more than the limited scopes and was not narrowed. One query on the patients' birth
    dates (indexed): the links of younger children, and the ones already narrowed, are
    not read every day."""
    rules = proxies.minor_rules()
    born = "patient__patient_profile__date_of_birth"
    return (
        ProxyLink.objects.filter(
            kind=ProxyKind.PARENT, revoked_at__isnull=True, aged_out_at__isnull=True
        )
        .filter(
            Q(**{f"{born}__lte": _born_by(today, rules.ends_at)})
            # No birth date on file: the request-time rules treat the link as ended.
            | Q(patient__patient_profile__isnull=True)
            | (
                Q(**{f"{born}__lte": _born_by(today, rules.full_until)}, narrowed_at__isnull=True)
                & ~Q(scopes__contained_by=sorted(rules.limited))
            )
        )
        .order_by("pk")
    )


def proxy_ages_apply(*, today: date | None = None) -> dict[str, int]:
    """Daily: record what the age rules did to each parent's link (``accounts.proxies``
    applies them at every request already) and tell the proxy and the patient, without
    health information. Each link is changed in its own transaction, under a lock and only
    when its state still calls for it, so a second run (or two at once) changes nothing
    and sends nothing. Returns how many links were narrowed and how many ended."""
    today = today or timezone.localdate()
    done = {"narrowed": 0, "aged_out": 0}
    for link_id in parent_links_due(today).values_list("pk", flat=True):
        step = _proxy_link_age(link_id=link_id, today=today)
        if step:
            done[step] += 1
    return done


@transaction.atomic
def _proxy_link_age(*, link_id: uuid.UUID, today: date) -> str:
    link = (
        ProxyLink.objects.select_for_update(of=("self",))
        .select_related("patient__patient_profile")
        .filter(pk=link_id, kind=ProxyKind.PARENT, revoked_at__isnull=True)
        .filter(aged_out_at__isnull=True)
        .first()
    )
    if link is None:
        return ""
    stage = proxies.minor_stage(link, today)
    limited = proxies.minor_rules().limited
    if stage == "ended":
        link.aged_out_at = timezone.now()
        link.save(update_fields=["aged_out_at"])
        action, step = AccountsAction.PROXY_LINK_AGED_OUT, "aged_out"
    elif stage == "limited" and link.narrowed_at is None and set(link.scopes) - limited:
        link.narrowed_at = timezone.now()
        link.scopes = [scope for scope in link.scopes if scope in limited]
        link.save(update_fields=["narrowed_at", "scopes"])
        action, step = AccountsAction.PROXY_LINK_NARROWED, "narrowed"
    else:
        return ""
    event_record(
        action=action,
        target=link,
        patient_id=link.patient_id,
        details={"proxy_id": link.proxy_id, "scopes": list(link.scopes)},
    )
    _access_changed_tell(link, today)
    return step


def _access_changed_tell(link: ProxyLink, today: date) -> None:
    """After commit: the proxy, and from the first age the patient, hear that the access
    changed (ids only to the task; the e-mail names no one and says nothing of care).
    A suspended link's proxy is not written to: the privacy officer stopped their access
    for the patient's safety (164.502(g)(5)), and a change is theirs to explain."""
    from accounts.tasks import proxy_access_changed_notice

    told = [link.proxy_id] if link.suspended_at is None else []
    profile = getattr(link.patient, "patient_profile", None)
    if profile is not None and (
        proxies.age_on(profile.date_of_birth, today) >= proxies.minor_rules().full_until
    ):
        told.append(link.patient_id)
    for user_id in told:
        transaction.on_commit(
            lambda user_id=user_id: proxy_access_changed_notice.delay(user_id),  # type: ignore[misc]
            robust=True,
        )
