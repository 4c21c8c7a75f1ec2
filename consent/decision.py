"""The disclosure decision: may information about a patient go to this recipient, for this
purpose, at this moment? (45 CFR 164.508(a)(1), (b)(5)).

It is the only gate for anything sent to someone other than the patient. It reads;
it never writes. The caller records a refusal (``decision_refusal_record``) or the
disclosure it then makes (``consent.services.disclosure_record``), in its own
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from consent.models import Authorization, AuthorizationStatus, RecordCategory

# Reasons, in the order a sender should read them. Stable codes (audited).
NONE, EXPIRED, REVOKED, RECIPIENT, SCOPE, PURPOSE = (
    "none",
    "expired",
    "revoked",
    "recipient",
    "scope",
    "purpose",
)
REASON_TEXT = {
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
) -> Decision:
    """The authorization that covers this disclosure at ``at`` (default now), or why none does.

    Only current versions count (a correction supersedes its predecessor). Among the
    authorizations naming the recipient, the refusal gives the reasons of the closest
    one, so the sender learns the one thing to fix ("expired", "purpose").
    """
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
