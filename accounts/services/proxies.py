"""Proxy links: staff record a representative's authority, an adult patient invites a
caregiver, either ends a link, the privacy officer suspends one at once.

Each write is audited with the patient's id, so the patient's "who viewed my
information" page and the privacy officer's search both find it; details hold ids and
codes only (the suspension's reason is encrypted on the link, never in the trail).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction
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
    user = User.objects.create_user(email=email, full_name=full_name, role=Role.PROXY)
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
