"""What a proxy link reaches today: 45 CFR 164.502(g) and the organisation's age rules."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import proxies
from accounts.errors import AccountsError
from accounts.models import PatientProfile, ProxyKind, ProxyLink, ProxyScope
from accounts.services import proxies as proxy_services
from tests.accounts.proxy_factories import link_made, make_proxy

pytestmark = pytest.mark.django_db


def born(patient: Any, day: date) -> None:
    PatientProfile.objects.filter(user=patient).update(date_of_birth=day)
    patient.refresh_from_db()


class TestScopesInForce:
    def test_a_link_in_force_grants_what_it_stores(self, personas: Any) -> None:
        link = link_made(
            proxy=make_proxy(),
            patient=personas.patient,
            by=personas.records_clerk,
            scopes=[ProxyScope.READ_MESSAGES],
        )
        assert proxies.scopes_in_force(link) == {ProxyScope.READ_MESSAGES}

    @pytest.mark.parametrize(
        "state",
        ["revoked_at", "suspended_at", "aged_out_at"],
    )
    def test_a_revoked_suspended_or_aged_out_link_reaches_nothing(
        self, personas: Any, state: str
    ) -> None:
        when: dict[str, Any] = {state: timezone.now()}
        link = link_made(
            proxy=make_proxy(), patient=personas.patient, by=personas.records_clerk, **when
        )
        assert proxies.scopes_in_force(link) == frozenset()
        assert proxies.acting_for(link.proxy, personas.patient.pk) is None

    def test_before_its_start_and_after_its_end_it_reaches_nothing(self, personas: Any) -> None:
        today = timezone.localdate()
        link = link_made(
            proxy=make_proxy(),
            patient=personas.patient,
            by=personas.records_clerk,
            starts_on=today + timedelta(days=1),
            ends_on=today + timedelta(days=10),
        )
        assert proxies.scopes_in_force(link, today) == frozenset()
        assert proxies.scopes_in_force(link, today + timedelta(days=1))
        assert proxies.scopes_in_force(link, today + timedelta(days=10))
        assert proxies.scopes_in_force(link, today + timedelta(days=11)) == frozenset()

    def test_a_proxy_reaches_only_the_patients_linked_to_them(self, personas: Any) -> None:
        proxy = make_proxy()
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        assert proxies.acting_for(proxy, personas.patient.pk) is not None
        assert proxies.acting_for(proxy, personas.other_patient.pk) is None
        assert proxies.acting_for(proxy, "not-a-number") is None
        assert not proxies.acts_for(proxy, personas.other_patient, ProxyScope.READ_MESSAGES)

    def test_a_patient_acts_for_themselves_only(self, personas: Any) -> None:
        assert proxies.acts_for(personas.patient, personas.patient, ProxyScope.SEND_MESSAGES)
        assert not proxies.acts_for(
            personas.patient, personas.other_patient, ProxyScope.READ_MESSAGES
        )
        assert not proxies.acts_for(personas.clinician, personas.patient, ProxyScope.READ_MESSAGES)


class TestMinors:
    """Defaults: full scope until 12, the limited scopes from 12, nothing from 18."""

    @pytest.mark.parametrize(
        ("age_days", "expected"),
        [
            ((12, -1), set(proxies.ALL_SCOPES)),  # 11 years 364 days
            ((12, 0), {ProxyScope.READ_MESSAGES, ProxyScope.SEND_MESSAGES}),
            ((18, -1), {ProxyScope.READ_MESSAGES, ProxyScope.SEND_MESSAGES}),
            ((18, 0), set()),
        ],
    )
    def test_a_parents_scope_follows_the_childs_age(
        self, personas: Any, age_days: tuple[int, int], expected: set[str]
    ) -> None:
        years, days = age_days
        today = date(2026, 6, 15)
        born(personas.patient, date(today.year - years, 6, 15) - timedelta(days=days))
        link = link_made(
            proxy=make_proxy(),
            patient=personas.patient,
            by=personas.records_clerk,
            kind=ProxyKind.PARENT,
            starts_on=date(2010, 1, 1),
        )
        with time_machine.travel(date(2026, 6, 15), tick=False):
            assert set(proxies.scopes_in_force(link)) == expected

    def test_the_age_rules_are_a_parents_only(self, personas: Any) -> None:
        born(personas.patient, date(1940, 1, 1))
        link = link_made(proxy=make_proxy(), patient=personas.patient, by=personas.records_clerk)
        assert proxies.scopes_in_force(link) == proxies.ALL_SCOPES

    def test_a_29_february_birthday_counts_on_1_march(self) -> None:
        assert proxies.age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
        assert proxies.age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


class TestTheTable:
    def test_a_representatives_link_needs_its_evidence(self, personas: Any) -> None:
        with pytest.raises(IntegrityError), transaction.atomic():
            ProxyLink.objects.create(
                proxy=make_proxy(),
                patient=personas.patient,
                kind=ProxyKind.GUARDIAN,
                scopes=[ProxyScope.READ_MESSAGES],
                created_by=personas.records_clerk,
            )

    def test_one_live_link_per_proxy_and_patient(self, personas: Any) -> None:
        proxy = make_proxy()
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        with pytest.raises(IntegrityError), transaction.atomic():
            link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)

    def test_an_unknown_scope_is_refused_by_the_database(self, personas: Any) -> None:
        with pytest.raises(IntegrityError), transaction.atomic():
            link_made(
                proxy=make_proxy(),
                patient=personas.patient,
                by=personas.records_clerk,
                scopes=["read_everything"],
            )


class TestRevokeAndSuspend:
    def test_the_patient_ends_their_caregivers_link_but_not_a_guardians(
        self, personas: Any
    ) -> None:
        caregiver = link_made(
            proxy=make_proxy(),
            patient=personas.patient,
            by=personas.patient,
            kind=ProxyKind.CAREGIVER,
        )
        guardian = link_made(
            proxy=make_proxy("gus.guardian@mail.test", "Gus Abernathy"),
            patient=personas.patient,
            by=personas.records_clerk,
        )
        proxy_services.proxy_link_revoke(actor=personas.patient, link=caregiver)
        with pytest.raises(AccountsError):
            proxy_services.proxy_link_revoke(actor=personas.patient, link=guardian)
        assert proxies.acting_for(caregiver.proxy, personas.patient.pk) is None
        assert proxies.acting_for(guardian.proxy, personas.patient.pk) is not None

    def test_only_the_privacy_officer_suspends_and_with_a_reason(self, personas: Any) -> None:
        link = link_made(proxy=make_proxy(), patient=personas.patient, by=personas.records_clerk)
        with pytest.raises(AccountsError):
            proxy_services.proxy_link_suspend(actor=personas.records_clerk, link=link, reason="x")
        with pytest.raises(AccountsError):
            proxy_services.proxy_link_suspend(actor=personas.privacy_officer, link=link, reason=" ")
        proxy_services.proxy_link_suspend(
            actor=personas.privacy_officer, link=link, reason="Concern raised by the care team"
        )
        link.refresh_from_db()
        assert link.suspension_reason == "Concern raised by the care team"
        assert proxies.acting_for(link.proxy, personas.patient.pk) is None
