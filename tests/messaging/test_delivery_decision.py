"""The delivery decision as a table: every combination of its inputs, checked against the
invariants the organisation relies on, and a few named cases with the sender's wording."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from messaging.delivery_decision import (
    DeliveryChoice,
    DeliveryInputs,
    Recipient,
    TlsState,
    WaiverState,
    delivery_decide,
)
from messaging.models import MIB, ContentCategory, DeliveryMethod

PORTAL = DeliveryMethod.PORTAL
TLS = DeliveryMethod.TLS_EMAIL
PDF = DeliveryMethod.PROTECTED_PDF
PLAIN = DeliveryMethod.PLAIN_EMAIL
EMAIL = {TLS, PDF, PLAIN}
RESTRICTED = frozenset({ContentCategory.PSYCHOTHERAPY_NOTES, ContentCategory.SUBSTANCE_USE})
ENABLED_SETS = [
    frozenset({PORTAL, *extra})
    for n in range(4)
    for extra in itertools.combinations(sorted(EMAIL), n)
]


def _rest() -> Iterator[dict[str, object]]:
    """Every combination of the inputs besides recipient, preference and enabled methods."""
    for waiver, confirmed, over, restricted, tls, third, password in itertools.product(
        WaiverState, (True, False), (True, False), (True, False), TlsState, (True, False),
        (True, False),
    ):  # fmt: skip
        yield {
            "waiver": waiver,
            "address_confirmed": confirmed,
            "size_bytes": 10 * MIB + 1 if over else 10 * MIB,
            "categories": frozenset({ContentCategory.SUBSTANCE_USE} if restricted else set()),
            "restricted": RESTRICTED,
            "tls": tls,
            "third_party_tls": third,
            "password_source": password,
        }


def _allowed(i: DeliveryInputs, method: DeliveryMethod) -> bool:
    """An independent statement of the rules: may ``method`` carry this content?"""
    if method == PORTAL:
        return True
    e_mail_ok = (
        method in i.enabled
        and not (i.categories & i.restricted)
        and i.size_bytes <= i.max_bytes
        and i.address_confirmed
    )
    if i.recipient == Recipient.THIRD_PARTY:
        return e_mail_ok and method == TLS and i.third_party_tls and i.tls != TlsState.NOT_OFFERED
    return (
        e_mail_ok
        and {
            TLS: i.tls != TlsState.NOT_OFFERED,
            PDF: i.password_source,
            PLAIN: i.waiver == WaiverState.IN_FORCE,
        }[method]
    )


@pytest.mark.parametrize("enabled", ENABLED_SETS, ids=lambda s: "+".join(sorted(s)))
@pytest.mark.parametrize("preference", list(DeliveryMethod))
@pytest.mark.parametrize("recipient", list(Recipient))
def test_every_combination_keeps_the_invariants(
    recipient: Recipient, preference: DeliveryMethod, enabled: frozenset[str]
) -> None:
    for rest in _rest():
        i = DeliveryInputs(recipient=recipient, enabled=enabled, preference=preference, **rest)  # type: ignore[arg-type]
        choice = delivery_decide(i)
        wanted = TLS if recipient == Recipient.THIRD_PARTY else preference
        assert choice.reason, i
        assert choice.method in enabled, i  # a disabled method is never chosen
        assert choice.method in (PORTAL, wanted), i  # never a silent substitute
        if recipient == Recipient.THIRD_PARTY:
            assert choice.method != PLAIN, i
            if not i.third_party_tls:
                assert choice.method == PORTAL, i
        if i.categories & i.restricted or i.size_bytes > i.max_bytes or not i.address_confirmed:
            assert choice.method == PORTAL, i
        if choice.method == PLAIN:
            assert i.waiver == WaiverState.IN_FORCE, i
        if choice.method == PDF:
            assert i.password_source, i
        if choice.method == TLS:
            assert i.tls != TlsState.NOT_OFFERED, i
        # Portal whenever the method asked for is not allowed, the method otherwise.
        assert choice.method == (wanted if _allowed(i, wanted) else PORTAL), i


def _patient(**kwargs: object) -> DeliveryInputs:
    base: dict[str, object] = {
        "recipient": Recipient.PATIENT,
        "enabled": frozenset(DeliveryMethod.values),
        "waiver": WaiverState.IN_FORCE,
        "address_confirmed": True,
        "restricted": RESTRICTED,
        "tls": TlsState.VERIFIED,
        "password_source": True,
    }
    return DeliveryInputs(**{**base, **kwargs})  # type: ignore[arg-type]


def _said(choice: DeliveryChoice) -> str:
    return choice.sentence


class TestNamedCases:
    def test_a_patient_who_chose_nothing_gets_portal_pickup(self) -> None:
        assert _said(delivery_decide(_patient())) == "by portal pickup: the patient's choice"

    def test_no_verified_tls_falls_back_to_the_portal(self) -> None:
        choice = delivery_decide(_patient(preference=TLS, tls=TlsState.NOT_OFFERED))
        assert _said(choice) == (
            "by portal pickup: the recipient's mail server does not offer verified TLS"
        )

    def test_unchecked_tls_is_tried_at_send_time(self) -> None:
        choice = delivery_decide(_patient(preference=TLS, tls=TlsState.UNKNOWN))
        assert choice.method == TLS
        assert "checked when sending" in choice.reason and "portal pickup" in choice.reason

    def test_restricted_content_names_its_kind(self) -> None:
        choice = delivery_decide(
            _patient(preference=TLS, categories=frozenset({ContentCategory.PSYCHOTHERAPY_NOTES}))
        )
        assert _said(choice) == (
            "by portal pickup: the content includes psychotherapy notes, "
            "which never leave by e-mail"
        )

    def test_content_over_the_ceiling_goes_by_portal(self) -> None:
        choice = delivery_decide(_patient(preference=PDF, size_bytes=11 * MIB))
        assert _said(choice) == (
            "by portal pickup: the content is larger than the e-mail limit of 10 MiB"
        )

    def test_a_disabled_method_falls_straight_back_to_the_portal(self) -> None:
        choice = delivery_decide(_patient(preference=PLAIN, enabled=frozenset({PORTAL, TLS})))
        assert _said(choice) == (
            "by portal pickup: the organisation has not enabled "
            "ordinary e-mail under the patient's waiver"
        )

    def test_a_waiver_for_an_older_statement_no_longer_counts(self) -> None:
        choice = delivery_decide(_patient(preference=PLAIN, waiver=WaiverState.OLD_STATEMENT))
        assert choice.method == PORTAL
        assert choice.reason == (
            "the patient accepted an older risk statement and must read the current one"
        )

    def test_a_revoked_waiver_stops_ordinary_email(self) -> None:
        choice = delivery_decide(_patient(preference=PLAIN, waiver=WaiverState.REVOKED))
        assert _said(choice) == "by portal pickup: the patient stopped ordinary e-mail"

    def test_ordinary_email_under_a_current_waiver(self) -> None:
        choice = delivery_decide(_patient(preference=PLAIN))
        assert _said(choice) == (
            "by ordinary e-mail under the patient's waiver: the patient's choice"
        )

    def test_a_protected_pdf_needs_a_password(self) -> None:
        choice = delivery_decide(_patient(preference=PDF, password_source=False))
        assert choice.method == PORTAL and choice.reason.startswith("no password is set")

    def test_an_unconfirmed_address_gets_nothing_by_email(self) -> None:
        choice = delivery_decide(_patient(preference=TLS, address_confirmed=False))
        assert _said(choice) == (
            "by portal pickup: the recipient's e-mail address is not confirmed"
        )

    def test_a_third_party_gets_tls_email_only_when_the_policy_allows(self) -> None:
        third = _patient(recipient=Recipient.THIRD_PARTY, preference=PLAIN)
        refused = delivery_decide(third)
        assert _said(refused) == (
            "by portal pickup: the organisation does not send e-mail to third parties"
        )
        allowed = delivery_decide(_patient(recipient=Recipient.THIRD_PARTY, third_party_tls=True))
        assert allowed.method == TLS
