"""State changes for consent: authorizations, revocations, disclosures, waivers, preferences.

Each function does the whole change: the domain rule, the save, the audit event. None
deletes anything (45 CFR 164.530(j)); corrections and revocations add to the record.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts import proxies
from accounts.models import Role, User
from audit import context as audit_context
from audit.models import Outcome
from audit.services import event_record
from consent import policies, statements
from consent.actions import ConsentAction
from consent.decision import Decision
from consent.errors import ConsentError
from consent.models import (
    SUSPENDABLE_BASES,
    Authorization,
    AuthorizationStatus,
    CommunicationPreference,
    Disclosure,
    EmailWaiver,
    LegalBasis,
    Purpose,
    RecordCategory,
    RevocationSource,
    Source,
    SuspensionBasis,
    WaiverMethod,
    WaiverStatement,
)
from encryption.files import file_store
from encryption.models import EncryptedFile
from encryption.uploads import CheckedUpload


@dataclass(frozen=True)
class Terms:
    """The core elements of an authorization as a form gives them (164.508(c)(1))."""

    categories: Sequence[str]
    description: str
    recipient_name: str
    recipient_email: str
    purposes: Sequence[str]
    signer_name: str
    discloser: str = ""
    records_from: date | None = None
    records_to: date | None = None
    recipient_organization: str = ""
    recipient_address: str = ""
    purpose_detail: str = ""
    expires_on: date | None = None
    expiry_event: str = ""
    representative_authority: str = ""
    extra: dict[str, str] = field(default_factory=dict)


# 45 CFR 164.508(c)(1): an authorization lacking a core element is not valid
# (164.508(b)(2)). Each check names the element so the form can say what is missing.
def terms_missing(terms: Terms) -> list[tuple[str, str]]:
    missing = []
    if not terms.categories or not set(terms.categories) <= set(RecordCategory.values):
        missing.append(
            ("information", gettext("which information may be disclosed (kinds of record)"))
        )
    if not terms.description.strip():
        missing.append(("description", gettext("a specific description of the information")))
    if terms.records_from and terms.records_to and terms.records_from > terms.records_to:
        missing.append(("information_dates", gettext("a date range that starts before it ends")))
    if not terms.recipient_name.strip():
        missing.append(("recipient", gettext("who may receive the information (name)")))
    if not terms.recipient_email.strip():
        missing.append(("recipient_email", gettext("the recipient's e-mail address")))
    if not terms.purposes or not set(terms.purposes) <= set(Purpose.values):
        missing.append(("purpose", gettext("each purpose of the disclosure")))
    elif Purpose.OTHER in terms.purposes and not terms.purpose_detail.strip():
        missing.append(("purpose", gettext("a description of the purpose marked “other”")))
    if terms.expires_on is None and not terms.expiry_event.strip():
        missing.append(("expiration", gettext("an expiration date or event")))
    elif terms.expires_on is not None and terms.expires_on.year > timezone.localdate().year + 100:
        missing.append(("expiration", gettext("an expiration date within the next 100 years")))
    if not terms.signer_name.strip():
        missing.append(("signature", gettext("the signature (the signer's full name)")))
    return missing


def _terms_check(*, actor: User, patient: User, terms: Terms, signed_at: datetime) -> None:
    missing = terms_missing(terms)
    expires_at = None if missing else _expiry(terms.expires_on)
    if expires_at is not None and expires_at <= signed_at:
        missing.append(("expiration", gettext("an expiration date after the signature date")))
    if missing:
        event_record(
            action=ConsentAction.AUTHORIZATION_REFUSED,
            outcome=Outcome.DENIED,
            actor=actor,
            patient_id=patient.pk,
            details={"missing": [code for code, _ in missing]},
        )
        names = "; ".join(text for _, text in missing)
        raise ConsentError(
            "missing_element",
            gettext("The authorization is missing: %(elements)s.") % {"elements": names},
        )


def _expiry(expires_on: date | None) -> datetime | None:
    """An expiry date means the end of that day in the organisation's time zone."""
    if expires_on is None:
        return None
    next_day = datetime.combine(expires_on + timedelta(days=1), time.min)
    return timezone.make_aware(next_day)


def _fill(auth: Authorization, terms: Terms) -> None:
    from django.conf import settings

    auth.categories = list(terms.categories)
    auth.records_from, auth.records_to = terms.records_from, terms.records_to
    auth.description = terms.description.strip()
    auth.discloser = terms.discloser.strip() or settings.ORGANISATION_NAME
    auth.recipient_name = terms.recipient_name.strip()
    auth.recipient_organization = terms.recipient_organization.strip()
    auth.recipient_email = terms.recipient_email.strip()
    auth.recipient_address = terms.recipient_address.strip()
    auth.purposes = list(terms.purposes)
    auth.purpose_detail = terms.purpose_detail.strip()
    auth.expires_at = _expiry(terms.expires_on)
    auth.expiry_event = terms.expiry_event.strip()
    auth.signer_name = terms.signer_name.strip()
    auth.representative_authority = terms.representative_authority.strip()
    auth.signed_by_representative = bool(auth.representative_authority)
    auth.statements_version = statements.VERSION


def authorization_sign(*, actor: User, terms: Terms, patient: User | None = None) -> Authorization:
    """The patient signs in the portal (the view has asked for a fresh second factor), or
    their personal representative acting for them (``patient``) through a proxy link.

    The typed name is the signature; the time and the address it came from are kept. A
    representative's authority is the one on their link, whatever the form said
    (164.508(c)(1)(vi)); an invited caregiver is not a personal representative and
    cannot sign for the patient (164.502(g)).
    """
    patient = patient or actor
    if not policies.may_sign_for(actor, patient):
        event_record(
            action=ConsentAction.AUTHORIZATION_REFUSED,
            outcome=Outcome.DENIED,
            actor=actor,
            patient_id=patient.pk,
            details={"reason": "not_signer"},
        )
        raise ConsentError(
            "not_signer",
            gettext("Only the patient or their personal representative can sign this."),
        )
    if actor.pk != patient.pk:
        terms = replace(
            terms, representative_authority=proxies.representative_authority(actor, patient)
        )
    now = timezone.now()
    # Outside the transaction: the refusal's audit event must survive the refusal.
    _terms_check(actor=actor, patient=patient, terms=terms, signed_at=now)
    with transaction.atomic():
        auth = Authorization(
            patient=patient, source=Source.PORTAL, recorded_by=actor, signed_at=now
        )
        _fill(auth, terms)
        auth.signature_ip = audit_context.current().ip
        auth.save()
        event_record(
            actor=actor,
            action=ConsentAction.AUTHORIZATION_SIGNED,
            target=auth,
            patient_id=patient.pk,
            details=_audit_details(auth),
        )
    return auth


def authorization_record_paper(
    *, actor: User, patient: User, terms: Terms, signed_on: date, scan: CheckedUpload
) -> Authorization:
    """Staff record a signed paper form; its scan is encrypted into the file store."""
    signed_at = timezone.make_aware(datetime.combine(signed_on, time.min))
    _terms_check(actor=actor, patient=patient, terms=terms, signed_at=signed_at)
    if signed_on > timezone.localdate():
        raise ConsentError("future_signature", "The signature date cannot be in the future.")
    stored = _store(scan)
    try:
        with transaction.atomic():
            auth = Authorization(
                patient=patient,
                source=Source.PAPER,
                recorded_by=actor,
                signed_at=signed_at,
                scan=stored,
            )
            _fill(auth, terms)
            auth.save()
            event_record(
                actor=actor,
                action=ConsentAction.AUTHORIZATION_RECORDED,
                target=auth,
                patient_id=patient.pk,
                details=_audit_details(auth),
            )
    except BaseException:
        stored.delete()
        raise
    return auth


def authorization_correct(
    *,
    actor: User,
    authorization: Authorization,
    terms: Terms,
    signed_on: date,
    scan: CheckedUpload | None = None,
) -> Authorization:
    """A transcription fix to a paper form: a new version; the old one stays, superseded.

    A form the patient signed in the portal is what they signed: it is never edited,
    only revoked and signed anew.
    """
    if authorization.source != Source.PAPER:
        raise ConsentError(
            "portal_signed",
            "An authorization signed in the portal cannot be corrected; the patient can "
            "revoke it and sign a new one.",
        )
    signed_at = timezone.make_aware(datetime.combine(signed_on, time.min))
    _terms_check(actor=actor, patient=authorization.patient, terms=terms, signed_at=signed_at)
    changed = _changed_elements(authorization, terms, signed_at)
    signed_changes = [name for name in changed if name in _SIGNED_ELEMENTS]
    if signed_changes and scan is None:
        labels = ", ".join(_SIGNED_ELEMENTS[name] for name in signed_changes)
        raise ConsentError(
            "new_scan_required",
            f"This changes what the patient signed ({labels}). A change to the recipient, "
            "the information, its dates, the purposes or the expiry needs the newly signed "
            "form: attach its scan. Without a new scan only transcription details can be "
            "corrected.",
        )
    stored = _store(scan) if scan is not None else None
    try:
        with transaction.atomic():
            previous = Authorization.objects.select_for_update().get(pk=authorization.pk)
            if previous.superseded_at is not None:
                raise ConsentError("superseded", "This version has already been corrected.")
            if previous.revoked_at is not None:
                raise ConsentError("revoked", "A revoked authorization cannot be corrected.")
            now = timezone.now()
            previous.superseded_at = now
            previous.save(update_fields=["superseded_at"])
            auth = Authorization(
                patient_id=previous.patient_id,
                lineage=previous.lineage,
                version=previous.version + 1,
                source=Source.PAPER,
                recorded_by=actor,
                signed_at=signed_at,
                scan=stored or previous.scan,
            )
            _fill(auth, terms)
            auth.save()
            event_record(
                actor=actor,
                action=ConsentAction.AUTHORIZATION_CORRECTED,
                target=auth,
                patient_id=previous.patient_id,
                details={
                    **_audit_details(auth),
                    "previous_id": str(previous.pk),
                    "changed": changed,  # element names only, never their values
                },
            )
    except BaseException:
        if stored is not None:
            stored.delete()
        raise
    return auth


# What the patient's signature covers: changing any of these is a new authorization on
# paper, so it needs the newly signed form's scan (164.508(c)(1); (b)(2) a form with
# elements that do not match what was signed is defective).
_SIGNED_ELEMENTS = {
    "recipient_email": "recipient e-mail",
    "recipient_name": "recipient name",
    "categories": "kinds of record",
    "records_from": "records dated from",
    "records_to": "records dated until",
    "purposes": "purposes",
    "expires_at": "expiry date",
    "expiry_event": "expiry event",
}
_CORRECTABLE_ELEMENTS = (
    "categories",
    "records_from",
    "records_to",
    "description",
    "discloser",
    "recipient_name",
    "recipient_organization",
    "recipient_email",
    "recipient_address",
    "purposes",
    "purpose_detail",
    "expires_at",
    "expiry_event",
    "signer_name",
    "representative_authority",
)


def _changed_elements(previous: Authorization, terms: Terms, signed_at: datetime) -> list[str]:
    """The names of the elements a correction changes (list fields compared as sets)."""
    candidate = Authorization()
    _fill(candidate, terms)
    changed = []
    for name in _CORRECTABLE_ELEMENTS:
        old, new = getattr(previous, name), getattr(candidate, name)
        if isinstance(old, list) and isinstance(new, list):
            old, new = sorted(old), sorted(new)
        if old != new:
            changed.append(name)
    if previous.signed_at != signed_at:
        changed.append("signed_at")
    return changed


@transaction.atomic
def authorization_revoke(
    *, actor: User, authorization: Authorization, source: str
) -> Authorization:
    """Revoke from now on (164.508(b)(5)); what was disclosed before stays accounted for."""
    auth = (
        Authorization.objects.select_for_update(of=("self",))
        .select_related("patient")
        .get(pk=authorization.pk)
    )
    _must_act_for(actor, auth.patient)
    if auth.superseded_at is not None:
        raise ConsentError("superseded", "Revoke the current version of this authorization.")
    if auth.revoked_at is not None:
        return auth  # a second click changes nothing
    if source not in RevocationSource.values:
        raise ConsentError("bad_source", "Say how the revocation was received.")
    auth.revoked_at = timezone.now()
    auth.revoked_by = actor
    auth.revocation_source = source
    auth.save(update_fields=["revoked_at", "revoked_by", "revocation_source"])
    event_record(
        actor=actor,
        action=ConsentAction.AUTHORIZATION_REVOKED,
        target=auth,
        patient_id=auth.patient_id,
        details={"source": source},
    )
    return auth


@transaction.atomic
def authorization_event_expire(*, actor: User, authorization: Authorization) -> Authorization:
    """Staff record that the expiry event named in the authorization has happened
    (164.508(c)(1)(v)): from this second it covers nothing, like an expiry date."""
    auth = Authorization.objects.select_for_update().get(pk=authorization.pk)
    if auth.superseded_at is not None:
        raise ConsentError("superseded", "Record this on the current version.")
    if not auth.expiry_event:
        raise ConsentError("no_event", "This authorization names no expiry event.")
    if auth.status() != AuthorizationStatus.ACTIVE:
        return auth  # already revoked or expired: nothing more to end
    auth.expiry_event_at = timezone.now()
    auth.save(update_fields=["expiry_event_at"])
    event_record(
        action=ConsentAction.AUTHORIZATION_EVENT_EXPIRED,
        actor=actor,
        target=auth,
        patient_id=auth.patient_id,
    )
    return auth


def _must_act_for(actor: User, patient: User) -> None:
    """In the portal, the patient's own choices are theirs, or their proxy's when the
    link lets them manage sharing; staff are held by their own policies and views."""
    if actor.uses_portal and not policies.may_manage_sharing_of(actor, patient):
        raise ConsentError("not_yours", gettext("This is not yours to change."))


def _audit_details(auth: Authorization) -> dict[str, object]:
    # Codes and dates only: the recipient and the description are PHI.
    return {
        "version": auth.version,
        "source": auth.source,
        "categories": list(auth.categories),
        "purposes": list(auth.purposes),
        "expires_at": auth.expires_at.isoformat() if auth.expires_at else None,
        "representative": auth.signed_by_representative,
    }


def _store(upload: CheckedUpload) -> EncryptedFile:
    return file_store(source=upload.reader(), name=upload.name, content_type=upload.content_type)


# --- the decision's consequences -----------------------------------------------------------


def decision_refusal_record(
    *, actor: User, patient_id: int, decision: Decision, channel: str
) -> None:
    """Audit a refused disclosure: the reasons and the channel, never the recipient."""
    event_record(
        action=ConsentAction.DISCLOSURE_REFUSED,
        outcome=Outcome.DENIED,
        actor=actor,
        patient_id=patient_id,
        details={"reasons": list(decision.reasons), "channel": channel},
    )


def disclosure_record(
    *,
    actor: User,
    decision: Decision,
    source: models.Model,
    recipient_name: str,
    recipient_address: str,
    description: str,
    purpose: str,
    categories: Sequence[str],
) -> Disclosure:
    """Inside the sender's transaction: the accounting entry (164.528(b)(2)).

    Only an allowed decision can be recorded, so a disclosure always names the
    authorization it relied on.
    """
    if decision.allowed and not decision.to_third_party:
        raise ConsentError(
            "not_a_disclosure",
            "A copy to the patient or their personal representative is not a disclosure to "
            "a third party: it is not accounted for (164.528(a)(1)(i)).",
        )
    if not decision.allowed or decision.authorization is None:
        raise ConsentError("not_allowed", "Nothing may be disclosed without a covering decision.")
    auth = decision.authorization
    entry = Disclosure.objects.create(
        patient_id=auth.patient_id,
        recipient_name=recipient_name,
        recipient_address=recipient_address,
        description=description,
        purpose=purpose,
        purpose_detail=auth.purpose_detail if purpose == Purpose.OTHER else "",
        categories=list(categories),
        authorization=auth,
        disclosed_by=actor,
        # 164.528(a)(1)(iv): disclosures under an authorization need not be accounted
        # for; we keep them anyway and show them to the patient.
        accounting_required=False,
        source_type=source._meta.label_lower,
        source_id=str(source.pk),
    )
    event_record(
        actor=actor,
        action=ConsentAction.DISCLOSURE_RECORDED,
        target=entry,
        patient_id=auth.patient_id,
        details={
            "authorization_id": str(auth.pk),
            "purpose": purpose,
            "source_type": entry.source_type,
            "source_id": entry.source_id,
        },
    )
    return entry


# 164.528(a)(2)(ii): an oral statement suspends the accounting for at most 30 days.
ORAL_SUSPENSION_DAYS = 30
# 164.528(a)(3): an accounting covers six years; older entries would never be shown.
OUTSIDE_DISCLOSURE_OLDEST = timedelta(days=365 * 6)


@dataclass(frozen=True)
class OutsideDisclosure:
    """The elements of 164.528(b)(2) for a disclosure made outside the portal."""

    disclosed_on: date
    legal_basis: str
    recipient_name: str
    recipient_address: str
    description: str
    purpose_statement: str
    categories: Sequence[str] = ()
    suspended_until: date | None = None
    suspension_basis: str = ""


def outside_disclosure_refusal(entry: OutsideDisclosure) -> str:
    """Why ``entry`` cannot be recorded, in words for the person filling the form; ""
    when it can."""
    today = timezone.localdate()
    if entry.legal_basis not in LegalBasis.values:
        return "Choose the 164.512 purpose the disclosure was made under."
    if not entry.recipient_name.strip():
        return "Missing: who received the information."
    if not entry.description.strip():
        return "Missing: a brief description of the information disclosed."
    if not entry.purpose_statement.strip():
        return "Missing: a brief statement of the purpose of the disclosure."
    if entry.disclosed_on > today:
        return "The date of the disclosure cannot be in the future."
    if entry.disclosed_on < today - OUTSIDE_DISCLOSURE_OLDEST:
        return "That date is more than six years ago: it falls outside every accounting."
    if any(category not in RecordCategory.values for category in entry.categories):
        return "Choose kinds of record from the list."
    if entry.suspended_until is None:
        return "" if not entry.suspension_basis else "Give the date the suspension ends."
    if entry.legal_basis not in SUSPENDABLE_BASES:
        return (
            "Only a health oversight agency or a law enforcement official may ask for the "
            "accounting to be suspended (45 CFR 164.528(a)(2))."
        )
    if entry.suspension_basis not in SuspensionBasis.values:
        return "Say whether the agency's statement was written or oral."
    if entry.suspended_until <= today:
        return "The suspension must end after today."
    if entry.suspension_basis == SuspensionBasis.ORAL and entry.suspended_until > today + timedelta(
        days=ORAL_SUSPENSION_DAYS
    ):
        return (
            "An oral statement suspends the accounting for at most 30 days "
            "(45 CFR 164.528(a)(2)(ii)); ask for a written statement to hold it longer."
        )
    return ""


@transaction.atomic
def outside_disclosure_record(
    *, actor: User, patient: User, entry: OutsideDisclosure
) -> Disclosure:
    """A disclosure staff made outside the portal under 164.512, into the accounting.

    The recipient, description and statement of purpose are stored encrypted; the audit
    event holds the purpose code and whether the entry is suspended, never the text.
    """
    if actor.role not in (Role.RECORDS_CLERK, Role.PRIVACY_OFFICER) or not actor.is_active:
        raise ConsentError("not_allowed", "Only the records desk records these disclosures.")
    if patient.role != Role.PATIENT:
        raise ConsentError("not_a_patient", "Disclosures are recorded for patients.")
    refusal = outside_disclosure_refusal(entry)
    if refusal:
        raise ConsentError("invalid", refusal)
    disclosed_at = timezone.make_aware(
        datetime.combine(entry.disclosed_on, time.min), timezone.get_current_timezone()
    )
    disclosure = Disclosure.objects.create(
        patient=patient,
        disclosed_at=disclosed_at,
        recipient_name=entry.recipient_name.strip(),
        recipient_address=entry.recipient_address.strip(),
        description=entry.description.strip(),
        purpose=Purpose.OTHER,
        purpose_detail=entry.purpose_statement.strip(),
        categories=list(dict.fromkeys(entry.categories)),
        authorization=None,
        disclosed_by=actor,
        accounting_required=True,
        source_type=Disclosure.OUTSIDE_SOURCE,
        source_id=uuid.uuid4().hex,
        legal_basis=entry.legal_basis,
        suspended_until=entry.suspended_until,
        suspension_basis=entry.suspension_basis if entry.suspended_until else "",
    )
    event_record(
        actor=actor,
        action=ConsentAction.OUTSIDE_DISCLOSURE_RECORDED,
        target=disclosure,
        patient_id=patient.pk,
        details={
            "legal_basis": entry.legal_basis,
            "disclosed_on": entry.disclosed_on.isoformat(),
            "suspended": entry.suspended_until is not None,
        },
    )
    return disclosure


# --- unencrypted e-mail waiver ---------------------------------------------------------------


@transaction.atomic
def waiver_statement_publish(*, actor: User, text: str) -> WaiverStatement:
    if actor.role != Role.PRIVACY_OFFICER:
        raise ConsentError("not_officer", "Only the privacy officer publishes the statement.")
    if not text.strip():
        raise ConsentError("empty", "Write the risk statement.")
    latest = WaiverStatement.objects.select_for_update().order_by("-version").first()
    statement = WaiverStatement.objects.create(
        version=(latest.version + 1) if latest else 1, text=text.strip(), published_by=actor
    )
    event_record(
        actor=actor,
        action=ConsentAction.WAIVER_STATEMENT_PUBLISHED,
        target=statement,
        details={"version": statement.version},
    )
    return statement


@transaction.atomic
def waiver_accept(
    *, actor: User, patient: User, statement: WaiverStatement, method: str
) -> EmailWaiver:
    """Record that ``patient`` read ``statement`` and still prefers ordinary e-mail.

    Only the current statement can be accepted: a page left open while the officer
    published a new wording must be read again.
    """
    _must_act_for(actor, patient)
    current = WaiverStatement.objects.order_by("-version").first()
    if current is None or current.pk != statement.pk:
        raise ConsentError("stale_statement", "The risk statement has changed; read it again.")
    existing = EmailWaiver.objects.filter(patient=patient, revoked_at__isnull=True).first()
    if existing is not None:
        return existing
    waiver = EmailWaiver.objects.create(
        patient=patient,
        statement=statement,
        method=method,
        recorded_by=actor,
        ip=audit_context.current().ip if method == WaiverMethod.PORTAL else None,
    )
    event_record(
        actor=actor,
        action=ConsentAction.WAIVER_ACCEPTED,
        target=waiver,
        patient_id=patient.pk,
        details={"statement_version": statement.version, "method": method},
    )
    return waiver


@transaction.atomic
def waiver_revoke(*, actor: User, patient: User) -> EmailWaiver | None:
    _must_act_for(actor, patient)
    waiver = (
        EmailWaiver.objects.select_for_update()
        .filter(patient=patient, revoked_at__isnull=True)
        .first()
    )
    if waiver is None:
        return None
    waiver.revoked_at, waiver.revoked_by = timezone.now(), actor
    waiver.save(update_fields=["revoked_at", "revoked_by"])
    event_record(
        action=ConsentAction.WAIVER_REVOKED, actor=actor, target=waiver, patient_id=patient.pk
    )
    return waiver


# --- communication preferences ---------------------------------------------------------------


@transaction.atomic
def preferences_update(
    *, actor: User, patient: User, postal_only: bool, postal_address: str
) -> CommunicationPreference:
    """45 CFR 164.522(b): postal mail only, to an address, instead of e-mail notices."""
    _must_act_for(actor, patient)
    postal_address = postal_address.strip()
    if postal_only and not postal_address:
        raise ConsentError("no_address", "Give the postal address for your letters.")
    prefs = CommunicationPreference.objects.select_for_update().filter(
        patient=patient
    ).first() or CommunicationPreference(patient=patient, updated_by=actor)
    before = prefs.postal_only if prefs.pk and not prefs._state.adding else False
    prefs.postal_only = postal_only
    prefs.postal_address = postal_address
    prefs.updated_at, prefs.updated_by = timezone.now(), actor
    prefs.save()
    event_record(
        actor=actor,
        action=ConsentAction.PREFERENCES_CHANGED,
        target=prefs,
        patient_id=patient.pk,
        details={"postal_only": postal_only, "was_postal_only": before},
    )
    return prefs
