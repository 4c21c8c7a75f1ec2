"""The disclosure decision tells the individual from a third party: the patient and their
personal representative need no authorization and are not accounted for; anyone else,
an invited caregiver included, does (45 CFR 164.502(g), 164.528(a)(1)(i); issue 22)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from accounts.models import ProxyKind
from consent import decision as d
from consent.decision import RecipientKind, disclosure_decide
from consent.errors import ConsentError
from consent.models import Purpose, RecordCategory
from consent.services import disclosure_record
from tests.accounts.proxy_factories import link_made, make_proxy
from tests.consent.factories import authorization_signed
from tests.messaging.factories import message_sent

pytestmark = pytest.mark.django_db

PROXY_EMAIL = "parker.proxy@mail.test"


def decide(patient: Any, email: str, kind: str = RecipientKind.THIRD_PARTY) -> d.Decision:
    return disclosure_decide(
        patient_id=patient.pk,
        recipient_email=email,
        purpose=Purpose.CONTINUITY_OF_CARE,
        categories=[RecordCategory.LAB_RESULTS],
        recipient_kind=kind,
    )


class TestPersonalRepresentative:
    def test_a_guardian_in_force_is_the_individual(self, personas: Any) -> None:
        link_made(proxy=make_proxy(), patient=personas.patient, by=personas.records_clerk)
        result = decide(
            personas.patient, PROXY_EMAIL.upper(), RecipientKind.PERSONAL_REPRESENTATIVE
        )
        assert result.allowed and result.authorization is None
        assert not result.to_third_party

    def test_the_kind_is_said_not_guessed(self, personas: Any) -> None:
        link_made(proxy=make_proxy(), patient=personas.patient, by=personas.records_clerk)
        result = decide(personas.patient, PROXY_EMAIL)
        assert not result.allowed and result.reasons == (d.NONE,)
        assert result.to_third_party

    def test_a_caregiver_is_a_third_party(self, personas: Any) -> None:
        link_made(
            proxy=make_proxy(),
            patient=personas.patient,
            by=personas.patient,
            kind=ProxyKind.CAREGIVER,
        )
        as_representative = decide(
            personas.patient, PROXY_EMAIL, RecipientKind.PERSONAL_REPRESENTATIVE
        )
        assert not as_representative.allowed
        assert as_representative.reasons == (d.NOT_INDIVIDUAL,)
        authorization_signed(patient=personas.patient, recipient_email=PROXY_EMAIL)
        as_third_party = decide(personas.patient, PROXY_EMAIL)
        assert as_third_party.allowed and as_third_party.authorization is not None

    @pytest.mark.parametrize("ended", ["revoked_at", "suspended_at"])
    def test_a_representative_whose_link_stopped_is_not_one(
        self, personas: Any, ended: str
    ) -> None:
        stopped: dict[str, Any] = {ended: timezone.now()}
        link_made(
            proxy=make_proxy(), patient=personas.patient, by=personas.records_clerk, **stopped
        )
        result = decide(personas.patient, PROXY_EMAIL, RecipientKind.PERSONAL_REPRESENTATIVE)
        assert not result.allowed and result.reasons == (d.NOT_INDIVIDUAL,)

    def test_another_patients_representative_is_not_this_patients(self, personas: Any) -> None:
        link_made(proxy=make_proxy(), patient=personas.other_patient, by=personas.records_clerk)
        result = decide(personas.patient, PROXY_EMAIL, RecipientKind.PERSONAL_REPRESENTATIVE)
        assert not result.allowed


class TestPatient:
    def test_the_patients_own_address_is_the_individual(self, personas: Any) -> None:
        assert decide(personas.patient, personas.patient.email, RecipientKind.PATIENT).allowed

    def test_another_address_is_not_the_patients(self, personas: Any) -> None:
        result = decide(personas.patient, "someone@else.test", RecipientKind.PATIENT)
        assert not result.allowed and result.reasons == (d.NOT_INDIVIDUAL,)


class TestAccounting:
    def test_a_copy_to_the_individual_is_not_recorded_as_a_disclosure(self, personas: Any) -> None:
        link_made(proxy=make_proxy(), patient=personas.patient, by=personas.records_clerk)
        result = decide(personas.patient, PROXY_EMAIL, RecipientKind.PERSONAL_REPRESENTATIVE)
        with pytest.raises(ConsentError) as refused:
            disclosure_record(
                actor=personas.records_clerk,
                decision=result,
                source=message_sent(author=personas.records_clerk, patient=personas.patient),
                recipient_name="Parker Lindqvist",
                recipient_address=PROXY_EMAIL,
                description="Lab results",
                purpose=Purpose.CONTINUITY_OF_CARE,
                categories=[RecordCategory.LAB_RESULTS],
            )
        assert refused.value.code == "not_a_disclosure"
