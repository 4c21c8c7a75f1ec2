"""Building the package in the background and delivering it: portal, third party, paper."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from consent.models import Disclosure, Purpose, RecordCategory
from encryption.uploads import attachment_check
from messaging.errors import MessagingError
from messaging.models import GuestPackage, Message
from records import services
from records.building import package_build_run
from records.models import BuildState, DeliverTo, RequestState
from records.signing import signature_status
from tests.consent.factories import authorization_signed
from tests.records.factories import request_verified
from tests.records.test_package import pdf_pages
from tests.records.test_signing import Identity
from tests.records.test_signing import organisation as organisation
from tests.records.test_signing import organisation_identity as organisation_identity
from tests.records.test_signing import signed_as as signed_as

THIRD_PARTY = {
    "deliver_to": DeliverTo.THIRD_PARTY,
    "third_party_name": "Dr. Ana Rivera",
    "third_party_email": "dr.rivera@northside-clinic.test",
    "categories": [RecordCategory.LAB_RESULTS],
}


def _built(personas: Any, on_commit: Any, **overrides: Any) -> Any:
    request = request_verified(patient=personas.patient, clerk=personas.records_clerk, **overrides)
    services.documents_add(
        actor=personas.records_clerk,
        request=request,
        uploads=[
            attachment_check(name="labs.pdf", data=pdf_pages("Potassium 5.1")),
            attachment_check(name="notes.pdf", data=pdf_pages("Visit note")),
        ],
    )
    with on_commit(execute=True):  # the build task runs eagerly after commit
        services.package_build_queue(actor=personas.records_clerk, request=request)
    request.refresh_from_db()
    return request


class TestBuilding:
    def test_the_package_is_built_signed_and_encrypted(
        self, personas: Any, organisation: Identity, django_capture_on_commit_callbacks: Any
    ) -> None:
        request = _built(personas, django_capture_on_commit_callbacks)
        assert request.build_state == BuildState.BUILT
        assert (request.build_done, request.build_total) == (2, 2)
        assert request.package_pages == 3  # the cover and two one-page documents
        pdf = services.file_bytes(request.package)
        status = signature_status(pdf, trust=[organisation.cert_bytes])
        assert status.intact and status.valid

    def test_a_second_prompt_builds_nothing(
        self, personas: Any, organisation: Identity, django_capture_on_commit_callbacks: Any
    ) -> None:
        request = _built(personas, django_capture_on_commit_callbacks)
        assert package_build_run(request_id=str(request.pk)) == "not_claimed"

    def test_documents_added_meanwhile_make_the_build_stale(
        self, personas: Any, organisation: Identity, django_capture_on_commit_callbacks: Any
    ) -> None:
        request = _built(personas, django_capture_on_commit_callbacks)
        services.documents_add(
            actor=personas.records_clerk,
            request=request,
            uploads=[attachment_check(name="more.pdf", data=pdf_pages("More"))],
        )
        request.refresh_from_db()
        assert request.build_state == BuildState.NONE
        with pytest.raises(Exception, match="Build the package"):
            services.request_fulfil(actor=personas.records_clerk, request=request)


class TestDelivery:
    def test_a_portal_copy_arrives_as_a_secure_message_on_time(
        self, personas: Any, organisation: Identity, django_capture_on_commit_callbacks: Any
    ) -> None:
        request = _built(personas, django_capture_on_commit_callbacks)
        done = services.request_fulfil(actor=personas.records_clerk, request=request)
        assert done.state == RequestState.FULFILLED
        assert done.closed_at is not None and done.closed_at < done.due_at
        assert done.delivered_message_id is not None
        message = Message.objects.get(pk=done.delivered_message_id)
        assert message.thread.patient == personas.patient
        attachment = message.attachments.get()
        pdf = services.file_bytes(attachment.file)
        assert signature_status(pdf, trust=[organisation.cert_bytes]).valid

    def test_a_third_party_copy_without_an_authorization_sends_nothing(
        self, personas: Any, organisation: Identity, django_capture_on_commit_callbacks: Any
    ) -> None:
        request = _built(personas, django_capture_on_commit_callbacks, **THIRD_PARTY)
        with pytest.raises(MessagingError):
            services.request_fulfil(actor=personas.records_clerk, request=request)
        request.refresh_from_db()
        assert request.state == RequestState.IN_PROGRESS
        assert GuestPackage.objects.count() == Disclosure.objects.count() == 0

    def test_a_directed_copy_goes_by_guest_pickup_and_is_a_disclosure(
        self, personas: Any, organisation: Identity, django_capture_on_commit_callbacks: Any
    ) -> None:
        authorization_signed(
            patient=personas.patient,
            purposes=[Purpose.INDIVIDUAL_REQUEST],
            recipient_email=THIRD_PARTY["third_party_email"],
        )
        request = _built(personas, django_capture_on_commit_callbacks, **THIRD_PARTY)
        done = services.request_fulfil(actor=personas.records_clerk, request=request)
        assert done.delivered_package_id is not None
        package = GuestPackage.objects.get(pk=done.delivered_package_id)
        assert package.disclosure is not None
        assert package.disclosure.purpose == Purpose.INDIVIDUAL_REQUEST
        assert done.state == RequestState.FULFILLED

    def test_a_paper_copy_is_marked_fulfilled_once_printed(
        self, personas: Any, organisation: Identity, django_capture_on_commit_callbacks: Any
    ) -> None:
        request = _built(personas, django_capture_on_commit_callbacks, deliver_to=DeliverTo.PAPER)
        done = services.request_fulfil(actor=personas.records_clerk, request=request)
        assert done.state == RequestState.FULFILLED
        assert done.delivered_message_id is None and done.delivered_package_id is None

    def test_a_late_fulfilment_is_recorded_as_late(
        self, personas: Any, organisation: Identity, django_capture_on_commit_callbacks: Any
    ) -> None:
        import time_machine

        from audit.models import AuditEvent

        request = _built(personas, django_capture_on_commit_callbacks)
        with time_machine.travel(request.due_at + timedelta(days=1)):
            services.request_fulfil(actor=personas.records_clerk, request=request)
        event = AuditEvent.objects.get(action="records.request_fulfilled")
        assert event.details["on_time"] is False
