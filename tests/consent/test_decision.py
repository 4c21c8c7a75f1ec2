"""The disclosure decision, exhaustively: every reason it may refuse, and each boundary."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from consent import decision as d
from consent.decision import disclosure_decide
from consent.models import Purpose, RecordCategory, RevocationSource
from consent.services import authorization_revoke
from tests.consent.factories import RECIPIENT_EMAIL, authorization_on_paper, authorization_signed

LABS = [RecordCategory.LAB_RESULTS]
CARE = Purpose.CONTINUITY_OF_CARE


def decide(patient: Any, **overrides: Any) -> d.Decision:
    values: dict[str, Any] = {
        "patient_id": patient.pk,
        "recipient_email": RECIPIENT_EMAIL,
        "purpose": CARE,
        "categories": LABS,
    }
    values.update(overrides)
    return disclosure_decide(**values)


class TestCovered:
    def test_it_returns_the_covering_authorization(self, personas: Any) -> None:
        auth = authorization_signed(patient=personas.patient)
        result = decide(personas.patient)
        assert result.allowed and result.authorization == auth and result.reasons == ()

    def test_it_matches_the_recipient_address_without_regard_to_case(self, personas: Any) -> None:
        authorization_signed(patient=personas.patient)
        assert decide(personas.patient, recipient_email=" DR.Rivera@Northside-Clinic.TEST ").allowed

    def test_the_whole_record_covers_every_category(self, personas: Any) -> None:
        authorization_signed(patient=personas.patient, categories=[RecordCategory.ALL])
        assert decide(personas.patient, categories=[RecordCategory.IMAGING]).allowed

    def test_a_representatives_signature_with_authority_covers(self, personas: Any) -> None:
        auth = authorization_signed(
            patient=personas.patient,
            signer_name="Morgan Guardian",
            representative_authority="Court-appointed guardian, order 2026-118",
        )
        result = decide(personas.patient)
        assert result.allowed and result.authorization == auth
        assert auth.signed_by_representative

    def test_a_paper_form_covers_like_a_portal_one(self, personas: Any) -> None:
        auth = authorization_on_paper(patient=personas.patient, recorded_by=personas.records_clerk)
        assert decide(personas.patient).authorization == auth


class TestRefused:
    def test_no_authorization_at_all(self, personas: Any) -> None:
        assert decide(personas.patient).reasons == (d.NONE,)

    def test_another_patients_authorization_covers_nothing(self, personas: Any) -> None:
        authorization_signed(patient=personas.other_patient)
        assert decide(personas.patient).reasons == (d.NONE,)

    def test_recipient_mismatch(self, personas: Any) -> None:
        authorization_signed(patient=personas.patient)
        result = decide(personas.patient, recipient_email="someone.else@northside-clinic.test")
        assert not result.allowed and result.reasons == (d.RECIPIENT,)

    def test_purpose_mismatch(self, personas: Any) -> None:
        authorization_signed(patient=personas.patient)
        assert decide(personas.patient, purpose=Purpose.LEGAL).reasons == (d.PURPOSE,)

    def test_category_outside_the_scope(self, personas: Any) -> None:
        authorization_signed(patient=personas.patient)
        result = decide(personas.patient, categories=[RecordCategory.LAB_RESULTS, "imaging"])
        assert result.reasons == (d.SCOPE,)

    def test_nothing_named_is_outside_the_scope(self, personas: Any) -> None:
        authorization_signed(patient=personas.patient)
        assert decide(personas.patient, categories=[]).reasons == (d.SCOPE,)

    def test_records_dated_outside_the_range(self, personas: Any) -> None:
        authorization_signed(
            patient=personas.patient,
            records_from=date(2026, 1, 1),
            records_to=date(2026, 6, 30),
        )
        inside = {"records_from": date(2026, 2, 1), "records_to": date(2026, 6, 30)}
        assert decide(personas.patient, **inside).allowed
        late = {"records_from": date(2026, 2, 1), "records_to": date(2026, 7, 1)}
        assert decide(personas.patient, **late).reasons == (d.SCOPE,)
        assert decide(personas.patient).reasons == (d.SCOPE,)  # undated records

    def test_it_gives_every_reason_of_the_closest_authorization(self, personas: Any) -> None:
        authorization_signed(patient=personas.patient)
        result = decide(personas.patient, purpose=Purpose.LEGAL, categories=["imaging"])
        assert set(result.reasons) == {d.PURPOSE, d.SCOPE}
        assert all(result.explanation)


class TestExpiry:
    def test_it_covers_until_the_last_second_of_the_expiry_day(self, personas: Any) -> None:
        last_day = timezone.localdate() + timedelta(days=10)
        auth = authorization_signed(patient=personas.patient, expires_on=last_day)
        assert auth.expires_at is not None
        one_second_before = auth.expires_at - timedelta(seconds=1)
        assert decide(personas.patient, at=one_second_before).allowed
        assert decide(personas.patient, at=auth.expires_at).reasons == (d.EXPIRED,)

    def test_it_expires_at_midnight_in_the_organisations_zone(self, personas: Any) -> None:
        last_day = timezone.localdate() + timedelta(days=10)
        auth = authorization_signed(patient=personas.patient, expires_on=last_day)
        assert auth.expires_at is not None
        local = timezone.localtime(auth.expires_at)
        assert (local.date(), local.hour, local.minute) == (last_day + timedelta(days=1), 0, 0)

    def test_it_covers_nothing_before_it_was_signed(self, personas: Any) -> None:
        auth = authorization_signed(patient=personas.patient)
        before = auth.signed_at - timedelta(seconds=1)
        assert decide(personas.patient, at=before).reasons == (d.EXPIRED,)

    def test_the_clock_moving_past_expiry_refuses(self, personas: Any) -> None:
        authorization_signed(
            patient=personas.patient, expires_on=timezone.localdate() + timedelta(days=1)
        )
        with time_machine.travel(timezone.now() + timedelta(days=3)):
            assert decide(personas.patient).reasons == (d.EXPIRED,)

    def test_an_event_only_authorization_lasts_until_revoked(self, personas: Any) -> None:
        authorization_signed(
            patient=personas.patient, expires_on=None, expiry_event="End of the court case"
        )
        later = timezone.now() + timedelta(days=3650)
        assert decide(personas.patient, at=later).allowed


class TestRevocation:
    def test_a_send_before_the_revocation_was_covered(self, personas: Any) -> None:
        auth = authorization_signed(patient=personas.patient)
        revoked = authorization_revoke(
            actor=personas.patient, authorization=auth, source=RevocationSource.PORTAL
        )
        assert revoked.revoked_at is not None
        just_before = revoked.revoked_at - timedelta(microseconds=1)
        assert decide(personas.patient, at=just_before).allowed

    def test_a_send_from_the_revocation_on_is_refused(self, personas: Any) -> None:
        auth = authorization_signed(patient=personas.patient)
        revoked = authorization_revoke(
            actor=personas.patient, authorization=auth, source=RevocationSource.PORTAL
        )
        assert decide(personas.patient, at=revoked.revoked_at).reasons == (d.REVOKED,)
        assert decide(personas.patient).reasons == (d.REVOKED,)

    def test_another_active_authorization_still_covers(self, personas: Any) -> None:
        first = authorization_signed(patient=personas.patient)
        second = authorization_signed(patient=personas.patient)
        authorization_revoke(
            actor=personas.patient, authorization=first, source=RevocationSource.PORTAL
        )
        assert decide(personas.patient).authorization == second


class TestVersions:
    def test_only_the_corrected_version_counts(self, personas: Any) -> None:
        from consent.services import authorization_correct
        from encryption.uploads import attachment_check
        from tests.consent.factories import terms
        from tests.messaging.factories import PDF_BYTES

        original = authorization_on_paper(
            patient=personas.patient, recorded_by=personas.records_clerk
        )
        corrected = authorization_correct(
            actor=personas.records_clerk,
            authorization=original,
            terms=terms(purposes=[Purpose.LEGAL]),
            signed_on=timezone.localdate(),
            scan=attachment_check(name="signed-again.pdf", data=PDF_BYTES),
        )
        assert decide(personas.patient).reasons == (d.PURPOSE,)
        assert decide(personas.patient, purpose=Purpose.LEGAL).authorization == corrected

    @pytest.mark.parametrize("purpose", [Purpose.INDIVIDUAL_REQUEST, Purpose.CONTINUITY_OF_CARE])
    def test_each_named_purpose_is_covered(self, personas: Any, purpose: str) -> None:
        authorization_signed(patient=personas.patient, purposes=[Purpose.INDIVIDUAL_REQUEST, CARE])
        assert decide(personas.patient, purpose=purpose).allowed
