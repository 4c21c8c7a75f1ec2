"""Building the package in the background and delivering it: portal, third party, paper."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from pypdf import PdfReader

from consent.models import Disclosure, Purpose, RecordCategory
from encryption.uploads import attachment_check
from messaging import delivery_settings
from messaging.document_passwords import document_password_set
from messaging.errors import MessagingError
from messaging.models import MIB, DeliveryMethod, GuestPackage, Message
from records import services
from records.building import package_build_run
from records.errors import RecordsError
from records.models import BuildState, DeliverTo, RequestState
from records.services import fulfilment
from records.signing import signature_status
from tests.consent.factories import authorization_signed
from tests.records.factories import Identity, pdf_pages, request_verified

DOCUMENT_PASSWORD = "harbour-lantern-93"
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

    def test_an_older_build_finishing_late_never_replaces_the_newer_one(
        self, personas: Any, organisation: Identity, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import time_machine

        from records import building, package

        request = request_verified(patient=personas.patient, clerk=personas.records_clerk)
        add = [attachment_check(name="labs.pdf", data=pdf_pages("Potassium 5.1"))]
        services.documents_add(actor=personas.records_clerk, request=request, uploads=add)
        services.package_build_queue(actor=personas.records_clerk, request=request)
        real_build = package.package_build

        def meanwhile_a_document_is_added_and_worker_two_claims(**kwargs: Any) -> Any:
            monkeypatch.setattr(package, "package_build", real_build)
            more = [attachment_check(name="notes.pdf", data=pdf_pages("Visit note"))]
            services.documents_add(actor=personas.records_clerk, request=request, uploads=more)
            services.package_build_queue(actor=personas.records_clerk, request=request)
            assert building._claim(str(request.pk)) is not None  # worker 2, still building
            return real_build(**kwargs)

        monkeypatch.setattr(
            package, "package_build", meanwhile_a_document_is_added_and_worker_two_claims
        )
        assert package_build_run(request_id=str(request.pk)) == "stale"  # worker 1
        request.refresh_from_db()
        assert request.build_state == BuildState.BUILDING and request.package is None
        with pytest.raises(RecordsError, match="Build the package"):
            services.request_fulfil(actor=personas.records_clerk, request=request)
        assert request.build_lease_until is not None
        with time_machine.travel(request.build_lease_until + timedelta(seconds=1)):
            assert package_build_run(request_id=str(request.pk)) == "built"  # the sweep's
        request.refresh_from_db()
        assert request.package_pages == 3  # the cover and both documents


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

    def test_a_portal_copy_emailed_as_a_locked_pdf_keeps_its_signature(
        self,
        personas: Any,
        organisation: Identity,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        delivery_settings.delivery_policy_update(
            actor=personas.privacy_officer,
            values=delivery_settings.PolicyValues(
                tls_email=False,
                protected_pdf=True,
                plain_email=False,
                email_max_bytes=10 * MIB,
                restricted_categories=frozenset(),
                third_party_tls=False,
            ),
        )
        document_password_set(
            actor=personas.patient, patient=personas.patient, password=DOCUMENT_PASSWORD
        )
        delivery_settings.delivery_preference_set(
            actor=personas.patient, patient=personas.patient, method=DeliveryMethod.PROTECTED_PDF
        )
        request = _built(personas, django_capture_on_commit_callbacks)
        with django_capture_on_commit_callbacks(execute=True):
            services.request_fulfil(actor=personas.records_clerk, request=request)
        [mail] = smtp_server.messages
        [attachment] = list(mail.iter_attachments())
        reader = PdfReader(io.BytesIO(bytes(attachment.get_content())))
        assert reader.is_encrypted and reader.decrypt(DOCUMENT_PASSWORD)
        [signed] = [copies[0] for copies in reader.attachments.values()]
        assert signed == services.file_bytes(request.package)  # byte for byte
        status = signature_status(signed, trust=[organisation.cert_bytes])
        assert status.intact and status.valid

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


class TestRetries:
    def test_another_clerk_can_send_after_a_fulfilment_failed_midway(
        self,
        personas: Any,
        organisation: Identity,
        django_capture_on_commit_callbacks: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        request = _built(personas, django_capture_on_commit_callbacks)

        def failing(*args: Any) -> bool:
            raise RuntimeError("the database went away")

        monkeypatch.setattr(fulfilment, "_on_time", failing)
        with pytest.raises(RuntimeError):
            services.request_fulfil(actor=personas.records_clerk, request=request)
        monkeypatch.undo()
        assert not Message.objects.exists()  # nothing went out with the failure
        done = services.request_fulfil(actor=personas.privacy_officer, request=request)
        assert done.state == RequestState.FULFILLED
        assert Message.objects.get().pk == done.delivered_message_id

    def test_a_copy_already_delivered_for_the_request_is_not_sent_twice(
        self, personas: Any, organisation: Identity, django_capture_on_commit_callbacks: Any
    ) -> None:
        import uuid

        from messaging import services as messaging

        request = _built(personas, django_capture_on_commit_callbacks)
        earlier = messaging.message_compose(  # sent by one clerk, whose request never closed
            actor=personas.records_clerk,
            draft=messaging.Draft(
                send_key=uuid.uuid5(request.pk, "fulfilment"),
                patient=personas.patient,
                subject="Your copy of your records",
                body="Here is the copy of your records you asked for.",
                category="clinical",
            ),
            send=True,
        )
        done = services.request_fulfil(actor=personas.privacy_officer, request=request)
        assert done.state == RequestState.FULFILLED
        assert done.delivered_message_id == earlier.pk
        assert Message.objects.count() == 1


class OtherConnection(threading.Thread):
    """``work`` on a database connection (so a transaction) of its own."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.error: BaseException | None = None
        self.backend_pid: int | None = None
        self.started = threading.Event()

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend_pid = cursor.fetchone()[0]
            self.started.set()
            self.work()
        except BaseException as error:
            self.error = error
        finally:
            connection.close()

    def waiting_for_a_lock(self) -> bool:
        """Whether the thread's backend waits for a lock (pg_locks is read live)."""
        assert self.started.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.is_alive():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted",
                    [self.backend_pid],
                )
                if cursor.fetchone()[0]:
                    return True
            time.sleep(0.02)
        return False


@pytest.mark.django_db(transaction=True)
class TestWithdrawalDuringTheSend:
    def test_a_withdrawal_while_the_copy_is_sent_waits_and_is_then_refused(
        self,
        personas: Any,
        organisation: Identity,
        django_capture_on_commit_callbacks: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from messaging import services as messaging

        request = _built(personas, django_capture_on_commit_callbacks)
        real_compose = messaging.message_compose
        withdrawal = OtherConnection(
            lambda: services.request_withdraw(actor=personas.patient, request=request)
        )

        def compose_while_the_patient_withdraws(**kwargs: Any) -> Any:
            withdrawal.start()
            assert withdrawal.waiting_for_a_lock(), f"not held back: {withdrawal.error!r}"
            return real_compose(**kwargs)

        monkeypatch.setattr(messaging, "message_compose", compose_while_the_patient_withdraws)
        done = services.request_fulfil(actor=personas.records_clerk, request=request)
        withdrawal.join(timeout=30)
        assert isinstance(withdrawal.error, RecordsError)
        assert withdrawal.error.message == "This request is already fulfilled."
        request.refresh_from_db()
        assert request.state == done.state == RequestState.FULFILLED
