"""The rules of 45 CFR 164.524 in the record-request services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from records import deadlines, services
from records.errors import RecordsError
from records.models import DeliverTo, RequestState, VerificationMethod
from tests.records.factories import request_received, request_verified, spec


class TestReceive:
    def test_the_clock_starts_at_receipt(self, personas: Any) -> None:
        request = request_received(patient=personas.patient)
        assert deadlines.due_day(request.due_at) == timezone.localdate() + timedelta(days=30)
        assert request.due_at == request.original_due_at
        assert request.state == RequestState.RECEIVED

    def test_a_third_party_copy_needs_the_named_recipient(self, personas: Any) -> None:
        with pytest.raises(RecordsError, match="Name the person"):
            request_received(patient=personas.patient, deliver_to=DeliverTo.THIRD_PARTY)

    def test_a_representative_states_their_authority(self, personas: Any) -> None:
        with pytest.raises(RecordsError, match="authority"):
            request_received(patient=personas.patient, representative_name="Morgan Guardian")

    def test_a_patient_cannot_ask_for_someone_elses_records(self, personas: Any) -> None:
        with pytest.raises(RecordsError, match="own records"):
            services.request_receive(
                actor=personas.patient,
                patient=personas.other_patient,
                spec=spec(),
                arrived_by="portal",
            )

    def test_a_received_time_in_the_future_is_refused(self, personas: Any) -> None:
        with pytest.raises(RecordsError, match="future"):
            request_received(
                patient=personas.patient, received_at=timezone.now() + timedelta(hours=1)
            )

    def test_a_refusal_is_audited_with_its_code(self, personas: Any) -> None:
        with pytest.raises(RecordsError):
            request_received(patient=personas.patient, categories=[])
        event = AuditEvent.objects.get(action="records.request_refused")
        assert event.details == {"reason": "invalid_request"}


class TestVerification:
    def test_nothing_is_added_before_verification(self, personas: Any) -> None:
        from encryption.uploads import attachment_check
        from tests.messaging.factories import PDF_BYTES

        request = request_received(patient=personas.patient)
        with pytest.raises(RecordsError, match=r"164\.514"):
            services.documents_add(
                actor=personas.records_clerk,
                request=request,
                uploads=[attachment_check(name="a.pdf", data=PDF_BYTES)],
            )

    def test_a_representative_needs_their_documents_checked(self, personas: Any) -> None:
        request = request_received(
            patient=personas.patient,
            representative_name="Morgan Guardian",
            representative_authority="Health care power of attorney",
        )
        with pytest.raises(RecordsError, match="representative"):
            services.request_verify(
                actor=personas.records_clerk, request=request, method=VerificationMethod.PHOTO_ID
            )

    def test_verification_records_who_how_and_when(self, personas: Any) -> None:
        request = request_verified(patient=personas.patient, clerk=personas.records_clerk)
        assert request.state == RequestState.VERIFIED
        assert request.verified_by == personas.records_clerk
        assert request.verification_method == VerificationMethod.PORTAL_MFA
        assert request.verified_at is not None


class TestDocuments:
    def test_documents_that_would_not_fit_one_secure_message_are_refused(
        self, personas: Any, settings: Any
    ) -> None:
        from encryption.uploads import CheckedUpload
        from tests.messaging.factories import PDF_BYTES

        settings.MESSAGING_MAX_MESSAGE_BYTES = 1024 * 1024
        scan = CheckedUpload("scan.pdf", "application/pdf", PDF_BYTES + b" " * 600 * 1024)
        request = request_verified(patient=personas.patient, clerk=personas.records_clerk)
        services.documents_add(actor=personas.records_clerk, request=request, uploads=[scan])
        with pytest.raises(RecordsError, match="larger than the 1 MiB a secure message"):
            services.documents_add(actor=personas.records_clerk, request=request, uploads=[scan])
        assert request.documents.count() == 1
        event = AuditEvent.objects.get(action="records.request_refused")
        assert event.details == {"reason": "documents_too_large"}


class TestExtension:
    def test_the_second_extension_is_refused_with_the_rule(self, personas: Any) -> None:
        request = request_received(patient=personas.patient)
        services.request_extend(
            actor=personas.records_clerk,
            request=request,
            reason="Records are in off-site storage",
            new_due_day=deadlines.due_day(request.due_at) + timedelta(days=10),
        )
        with pytest.raises(RecordsError, match=r"only once \(45 CFR 164.524\(b\)\(2\)\(ii\)\)"):
            services.request_extend(
                actor=personas.records_clerk,
                request=request,
                reason="Still waiting",
                new_due_day=deadlines.due_day(request.original_due_at) + timedelta(days=20),
            )

    def test_an_extension_after_the_due_date_is_refused(self, personas: Any) -> None:
        request = request_received(patient=personas.patient)
        with time_machine.travel(request.due_at), pytest.raises(RecordsError, match="has passed"):
            services.request_extend(
                actor=personas.records_clerk,
                request=request,
                reason="Late",
                new_due_day=deadlines.due_day(request.due_at) + timedelta(days=5),
            )
        request.refresh_from_db()
        assert request.due_at == request.original_due_at

    def test_more_than_thirty_days_is_refused(self, personas: Any) -> None:
        request = request_received(patient=personas.patient)
        with pytest.raises(RecordsError, match="at most 30 days"):
            services.request_extend(
                actor=personas.records_clerk,
                request=request,
                reason="Storage",
                new_due_day=deadlines.due_day(request.due_at) + timedelta(days=31),
            )

    def test_an_extension_needs_its_reasons(self, personas: Any) -> None:
        request = request_received(patient=personas.patient)
        with pytest.raises(RecordsError, match="reasons"):
            services.request_extend(
                actor=personas.records_clerk,
                request=request,
                reason=" ",
                new_due_day=deadlines.due_day(request.due_at) + timedelta(days=5),
            )

    def test_a_notice_that_cannot_be_sent_is_a_refusal_and_moves_nothing(
        self, personas: Any
    ) -> None:
        request = request_received(patient=personas.patient)
        personas.patient.is_active = False  # the account was closed after the request came
        personas.patient.save(update_fields=["is_active"])
        with pytest.raises(RecordsError, match="notice could not be sent"):
            services.request_extend(
                actor=personas.records_clerk,
                request=request,
                reason="Storage",
                new_due_day=deadlines.due_day(request.due_at) + timedelta(days=5),
            )
        request.refresh_from_db()
        assert request.due_at == request.original_due_at and not request.notices.exists()
        event = AuditEvent.objects.get(action="records.request_refused")
        assert event.details == {"reason": "not_on_care_team"}

    def test_the_due_date_moves_only_with_the_notice_sent(self, personas: Any) -> None:
        from messaging.models import Attachment, Message

        request = request_received(patient=personas.patient)
        new_day = deadlines.due_day(request.due_at) + timedelta(days=30)
        extended = services.request_extend(
            actor=personas.records_clerk, request=request, reason="Storage", new_due_day=new_day
        )
        assert deadlines.due_day(extended.due_at) == new_day
        notice = extended.notices.get()
        assert notice.message_id is not None
        message = Message.objects.get(pk=notice.message_id)
        assert message.thread.patient == personas.patient and message.state == "sent"
        assert Attachment.objects.filter(message=message).count() == 1


class TestTransitions:
    def test_a_closed_request_takes_no_more_steps(self, personas: Any) -> None:
        request = request_received(patient=personas.patient)
        services.request_withdraw(actor=personas.patient, request=request)
        with pytest.raises(RecordsError, match="already withdrawn"):
            services.request_verify(
                actor=personas.records_clerk, request=request, method=VerificationMethod.PHOTO_ID
            )

    def test_a_denial_needs_its_basis(self, personas: Any) -> None:
        request = request_received(patient=personas.patient)
        with pytest.raises(RecordsError, match="basis"):
            services.request_deny(actor=personas.records_clerk, request=request, basis="")

    def test_a_full_denial_closes_and_a_partial_one_does_not(self, personas: Any) -> None:
        first = request_received(patient=personas.patient)
        second = request_received(patient=personas.patient)
        basis = "Psychotherapy notes are excluded from the right of access (164.524(a)(1)(i))."
        denied = services.request_deny(actor=personas.records_clerk, request=first, basis=basis)
        partly = services.request_deny(
            actor=personas.records_clerk, request=second, basis=basis, partial=True
        )
        assert denied.state == RequestState.DENIED and denied.closed_at is not None
        assert partly.state == RequestState.RECEIVED and partly.closed_at is None

    def test_fulfilment_needs_a_built_package(self, personas: Any) -> None:
        request = request_verified(patient=personas.patient, clerk=personas.records_clerk)
        with pytest.raises(RecordsError, match="Build the package"):
            services.request_fulfil(actor=personas.records_clerk, request=request)

    def test_a_portal_copy_carries_no_fee(self, personas: Any) -> None:
        request = request_received(patient=personas.patient)
        with pytest.raises(RecordsError, match="no fee"):
            services.fee_estimate_give(
                actor=personas.records_clerk, request=request, cents=500, basis="Labour"
            )

    def test_a_paper_copy_fee_estimate_is_recorded(self, personas: Any) -> None:
        request = request_received(patient=personas.patient, deliver_to=DeliverTo.PAPER)
        estimated = services.fee_estimate_give(
            actor=personas.records_clerk, request=request, cents=650, basis="Paper and postage"
        )
        assert (estimated.fee_estimate_cents, estimated.fee_given_at is not None) == (650, True)
