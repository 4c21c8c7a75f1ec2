"""The delivery decision: by which method should this content reach this recipient?

It sits beside the disclosure decision (``consent.decision``): that one says *whether*
content may go to someone; this one says *how*, once it may. It is a pure function of
``DeliveryInputs`` (no database, no clock), so every combination can be tested; the
selector ``messaging.selectors.delivery_inputs_for`` gathers the inputs from the
database. The sender reads the result before sending: the method and one plain reason.

Rules, in the order they are checked (the first that says no gives the reason):

1. Portal pickup is the default and the fallback for everything. Whatever rule refuses
   the method asked for, the answer is portal pickup, never "the next method down": a
   patient who chose secure e-mail did not choose ordinary e-mail, and a silent
   substitution would surprise them.
2. The method must be enabled by the organisation's policy.
3. A third party gets TLS-verified e-mail only if the policy allows it, and never
   anything else by e-mail (ordinary e-mail is the patient's own waiver; a locked PDF's
   password has no second channel to a third party). They have no preference of their
   own: TLS e-mail is tried when allowed, otherwise guest pickup in the portal.
4. Content in a restricted category (default: psychotherapy notes, 42 CFR Part 2
   records) never leaves by e-mail.
5. Content over the policy's size ceiling goes by portal.
6. Every e-mail method goes only to a confirmed address (a third party's address is
   the one the patient's authorization names: confirmed by the patient's signature).
7. Per method: ordinary e-mail needs a waiver in force for the *current* risk
   statement (a waiver accepted for an older wording no longer counts: the patient
   has not read what the organisation now says the risks are, and reading it again is
   one click in the portal); TLS e-mail needs a recipient domain that offers verified
   TLS, where "unknown" (not checked yet) means it is tried at send time and any
   doubt then falls back to the portal; a protected PDF needs a password source (a
   document password the patient set, or a one-time password staff read out).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from messaging.models import MIB, ContentCategory, DeliveryMethod

EMAIL_METHODS = frozenset(
    {DeliveryMethod.TLS_EMAIL, DeliveryMethod.PROTECTED_PDF, DeliveryMethod.PLAIN_EMAIL}
)

# How each method reads in a sender's sentence ("Will be delivered by ...").
METHOD_TEXT = {
    DeliveryMethod.PORTAL: "portal pickup",
    DeliveryMethod.TLS_EMAIL: "TLS-verified e-mail",
    DeliveryMethod.PROTECTED_PDF: "password-protected PDF by e-mail",
    DeliveryMethod.PLAIN_EMAIL: "ordinary e-mail under the patient's waiver",
}

ONE_TIME_PASSWORD_TEXT = "(with a one-time password you will read to the patient)"  # noqa: S105


class Recipient(enum.StrEnum):
    PATIENT = "patient"
    THIRD_PARTY = "third_party"


class WaiverState(enum.StrEnum):
    NONE = "none"
    IN_FORCE = "in_force"
    REVOKED = "revoked"
    # In force, but accepted for an older risk statement than the current one.
    OLD_STATEMENT = "old_statement"


class TlsState(enum.StrEnum):
    VERIFIED = "verified"
    NOT_OFFERED = "not_offered"
    # Not checked yet: TLS e-mail may be tried at send time, portal if it fails.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DeliveryInputs:
    recipient: Recipient
    enabled: frozenset[str]
    preference: str = DeliveryMethod.PORTAL
    waiver: WaiverState = WaiverState.NONE
    address_confirmed: bool = False
    size_bytes: int = 0
    max_bytes: int = 10 * MIB
    categories: frozenset[str] = frozenset()
    restricted: frozenset[str] = frozenset()
    tls: TlsState = TlsState.UNKNOWN
    third_party_tls: bool = False
    password_source: bool = False


@dataclass(frozen=True)
class DeliveryChoice:
    method: DeliveryMethod
    reason: str
    # The method asked for (the patient's preference, or TLS e-mail for a third party).
    wanted: DeliveryMethod = DeliveryMethod.PORTAL
    # A locked PDF whose password is a staff one-time password, given to the sender when
    # they send (``delivery_settings.delivery_choice_for``); never set by the worker.
    one_time_password: bool = False

    @property
    def method_text(self) -> str:
        if self.one_time_password:
            return f"{METHOD_TEXT[self.method]} {ONE_TIME_PASSWORD_TEXT}"
        return METHOD_TEXT[self.method]

    @property
    def sentence(self) -> str:
        """What the sender reads: "by portal pickup: <reason>"."""
        return f"by {self.method_text}: {self.reason}"


def _wanted(inputs: DeliveryInputs) -> DeliveryMethod:
    if inputs.recipient == Recipient.THIRD_PARTY:
        return DeliveryMethod.TLS_EMAIL
    if inputs.preference in DeliveryMethod.values:
        return DeliveryMethod(inputs.preference)
    return DeliveryMethod.PORTAL


def _category_labels(codes: Iterable[str]) -> str:
    labels = [
        str(ContentCategory(c).label).lower() if c in ContentCategory.values else c
        for c in sorted(codes)
    ]
    return ", ".join(labels)


def _refusal(inputs: DeliveryInputs, wanted: DeliveryMethod) -> str | None:
    """Why ``wanted`` may not be used, or None if it may."""
    name = METHOD_TEXT[wanted]
    if wanted not in inputs.enabled:
        return f"the organisation has not enabled {name}"
    if inputs.recipient == Recipient.THIRD_PARTY:
        if wanted != DeliveryMethod.TLS_EMAIL:
            return f"{name} is never used for a third party"
        if not inputs.third_party_tls:
            return "the organisation does not send e-mail to third parties"
    blocked = inputs.categories & inputs.restricted
    if blocked:
        return f"the content includes {_category_labels(blocked)}, which never leave by e-mail"
    if inputs.size_bytes > inputs.max_bytes:
        limit = inputs.max_bytes / MIB
        return f"the content is larger than the e-mail limit of {limit:g} MiB"
    if not inputs.address_confirmed:
        return "the recipient's e-mail address is not confirmed"
    if wanted == DeliveryMethod.PLAIN_EMAIL:
        return {
            WaiverState.NONE: "the patient has not accepted ordinary e-mail",
            WaiverState.REVOKED: "the patient stopped ordinary e-mail",
            WaiverState.OLD_STATEMENT: (
                "the patient accepted an older risk statement and must read the current one"
            ),
            WaiverState.IN_FORCE: None,
        }[inputs.waiver]
    if wanted == DeliveryMethod.TLS_EMAIL and inputs.tls == TlsState.NOT_OFFERED:
        return "the recipient's mail server does not offer verified TLS"
    if wanted == DeliveryMethod.PROTECTED_PDF and not inputs.password_source:
        return "no password is set (none chosen by the patient, no one-time password given)"
    return None


def delivery_decide(inputs: DeliveryInputs) -> DeliveryChoice:
    """The method for this content and recipient, with the reason a sender reads."""
    wanted = _wanted(inputs)
    if wanted == DeliveryMethod.PORTAL:
        reason = (
            "the patient's choice"
            if inputs.recipient == Recipient.PATIENT and inputs.preference == DeliveryMethod.PORTAL
            else "the default"
        )
        return DeliveryChoice(DeliveryMethod.PORTAL, reason, wanted)
    refusal = _refusal(inputs, wanted)
    if refusal is not None:
        return DeliveryChoice(DeliveryMethod.PORTAL, refusal, wanted)
    if wanted == DeliveryMethod.TLS_EMAIL and inputs.tls == TlsState.UNKNOWN:
        reason = (
            "the mail server is checked when sending; without verified TLS it goes by portal pickup"
        )
    elif inputs.recipient == Recipient.THIRD_PARTY:
        reason = "the organisation allows TLS-verified e-mail to third parties"
    else:
        reason = "the patient's choice"
    return DeliveryChoice(wanted, reason, wanted)
