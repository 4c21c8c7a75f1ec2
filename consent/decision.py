"""The disclosure decision: may information about a patient go to this recipient, for this
purpose, at this moment? (45 CFR 164.508(a)(1), (b)(5)).

It is the only gate for anything sent to someone other than the patient. It reads;
it never writes. The caller records a refusal (``decision_refusal_record``) or the
disclosure it then makes (``consent.services.disclosure_record``), in its own
transaction.

Who receives is said, not guessed (``RecipientKind``): the patient, or their personal
representative (a parent, guardian or power of attorney with a link in force, 45 CFR
164.502(g)), is treated as the individual: no authorization is needed and nothing is
accounted for (164.502(a)(1)(i), 164.528(a)(1)(i)). Everyone else, an invited caregiver
included, is a third party and needs an authorization that covers the disclosure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import models
from django.utils import timezone

from accounts import proxies
from accounts.models import REPRESENTATIVE_KINDS, ProxyLink, User
from consent.models import Authorization, AuthorizationStatus, RecordCategory


class RecipientKind(models.TextChoices):
    """Whom a disclosure goes to, as the sender says it: the decision checks the claim."""

    THIRD_PARTY = "third_party", "Someone else (a third party)"
    PATIENT = "patient", "The patient"
    PERSONAL_REPRESENTATIVE = "personal_representative", "The patient's personal representative"


# Reasons, in the order a sender should read them. Stable codes (audited).
NONE, EXPIRED, REVOKED, RECIPIENT, SCOPE, PURPOSE, NOT_INDIVIDUAL = (
    "none",
    "expired",
    "revoked",
    "recipient",
    "scope",
    "purpose",
    "not_individual",
)
REASON_TEXT = {
    NOT_INDIVIDUAL: "This address is not the patient's, nor that of a personal representative "
    "with access in force.",
    NONE: "The patient has no authorization on file.",
    EXPIRED: "The authorization for this recipient has expired.",
    REVOKED: "The patient revoked the authorization for this recipient.",
    RECIPIENT: "No authorization names this recipient.",
    SCOPE: "The authorization does not cover this information (kind of record or dates).",
    PURPOSE: "The authorization does not cover this purpose.",
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    authorization: Authorization | None = None
    reasons: tuple[str, ...] = field(default_factory=tuple)
    recipient_kind: str = RecipientKind.THIRD_PARTY

    @property
    def to_third_party(self) -> bool:
        """Whether this is a disclosure to a third party: one that needs an authorization
        and is accounted for (``disclosure_record``); not one to the individual."""
        return self.recipient_kind == RecipientKind.THIRD_PARTY

    @property
    def explanation(self) -> list[str]:
        return [REASON_TEXT[r] for r in self.reasons]


def same_address(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _mismatches(
    auth: Authorization,
    *,
    recipient_email: str,
    purpose: str,
    categories: Iterable[str],
    records_from: date | None,
    records_to: date | None,
    at: datetime,
) -> list[str]:
    found = []
    if not same_address(auth.recipient_email, recipient_email):
        found.append(RECIPIENT)
    status = auth.status(at)
    if status == AuthorizationStatus.REVOKED:
        found.append(REVOKED)
    elif status == AuthorizationStatus.EXPIRED or auth.signed_at > at:
        found.append(EXPIRED)
    covered = set(auth.categories)
    wanted = set(categories)
    if (
        not wanted
        or (RecordCategory.ALL not in covered and not wanted <= covered)
        or _outside(auth.records_from, auth.records_to, records_from, records_to)
    ):
        found.append(SCOPE)
    if purpose not in auth.purposes:
        found.append(PURPOSE)
    return found


def _outside(
    allowed_from: date | None,
    allowed_to: date | None,
    wanted_from: date | None,
    wanted_to: date | None,
) -> bool:
    """True if the wanted records' dates are not inside the authorized range. Records of
    unknown date are inside only an authorization without a range."""
    if allowed_from is not None and (wanted_from is None or wanted_from < allowed_from):
        return True
    return allowed_to is not None and (wanted_to is None or wanted_to > allowed_to)


def disclosure_decide(
    *,
    patient_id: int,
    recipient_email: str,
    purpose: str,
    categories: Iterable[str],
    records_from: date | None = None,
    records_to: date | None = None,
    at: datetime | None = None,
    recipient_kind: str = RecipientKind.THIRD_PARTY,
) -> Decision:
    """The authorization that covers this disclosure at ``at`` (default now), or why none does.

    Only current versions count (a correction supersedes its predecessor). Among the
    authorizations naming the recipient, the refusal gives the reasons of the closest
    one, so the sender learns the one thing to fix ("expired", "purpose").

    To the patient or their personal representative (``recipient_kind``) it is allowed
    without an authorization once the address is theirs (the patient's account, or the
    account of a representative whose link is in force); otherwise refused.
    """
    if recipient_kind != RecipientKind.THIRD_PARTY:
        return _to_individual(patient_id, recipient_email, recipient_kind)
    at = at or timezone.now()
    categories = list(categories)
    current = list(
        Authorization.objects.filter(patient_id=patient_id, superseded_at__isnull=True).order_by(
            "-signed_at"
        )
    )
    if not current:
        return Decision(False, None, (NONE,))
    best: list[str] | None = None
    for auth in current:
        found = _mismatches(
            auth,
            recipient_email=recipient_email,
            purpose=purpose,
            categories=categories,
            records_from=records_from,
            records_to=records_to,
            at=at,
        )
        if not found:
            return Decision(True, auth, ())
        if RECIPIENT not in found and (best is None or len(found) < len(best)):
            best = found
    return Decision(False, None, tuple(best) if best is not None else (RECIPIENT,))


def _to_individual(patient_id: int, recipient_email: str, kind: str) -> Decision:
    """45 CFR 164.502(g): a personal representative is treated as the individual; an
    invited caregiver is not one (their link is not of a representative's kind)."""
    if kind == RecipientKind.PATIENT:
        patient = User.objects.filter(pk=patient_id).first()
        found = patient is not None and same_address(patient.email, recipient_email)
    else:
        links = ProxyLink.objects.filter(
            patient_id=patient_id,
            kind__in=REPRESENTATIVE_KINDS,
            revoked_at__isnull=True,
            suspended_at__isnull=True,
            aged_out_at__isnull=True,
        ).select_related("proxy", "patient__patient_profile")
        found = any(
            same_address(link.proxy.email, recipient_email) and proxies.scopes_in_force(link)
            for link in links
        )
    if not found:
        return Decision(False, None, (NOT_INDIVIDUAL,), recipient_kind=kind)
    return Decision(True, None, (), recipient_kind=kind)
