"""The purge: what each kind's clock starts from, holds, crash recovery, and erasure."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Invitation
from accounts.services import invitation_issue
from audit.models import AuditEvent
from consent import services as consent_services
from consent.models import RevocationSource
from encryption.errors import Erased
from encryption.files import file_chunks, files_storage
from encryption.models import DataKey, EncryptedFile
from encryption.uploads import attachment_check
from messaging.errors import MessagingError
from messaging.models import Attachment, GuestPackage, Message
from messaging.services import reply_send
from records import services as records_services
from records.models import RecordRequest, RequestState
from retention import services
from retention.kinds import KINDS
from retention.models import HoldScope, LegalHold, PurgeRun, RunState, Tombstone
from retention.rules import ClockStart, PeriodUnit, RecordKind
from tests.consent.factories import authorization_on_paper
from tests.messaging.factories import PDF_BYTES, package_send
from tests.records.factories import request_verified
from tests.retention.factories import (
    DAY,
    message_with_file,
    purge,
    request_closed_with_documents,
    thread_of,
    years_later,
)

pytestmark = pytest.mark.django_db


def erased(obj: Any) -> bool:
    return DataKey.objects.get(pk=obj.data_key_id).destroyed_at is not None


def stored(file: EncryptedFile | None) -> bool:
    assert file is not None
    return files_storage().exists(file.storage_name)


def policy(personas: Any, kind: str, amount: int, unit: str = PeriodUnit.DAYS, **kw: Any) -> None:
    clock = kw.get("clock_start", services.policies_effective()[kind].clock_start)
    services.policy_update(
        actor=personas.privacy_officer, kind=kind, clock_start=clock, amount=amount, unit=unit
    )


class TestMessages:
    def test_a_clinical_message_is_kept_ten_years_from_sending(self, personas: Any) -> None:
        message = message_with_file(personas)
        purge(years_later(10, days=-1))
        assert not erased(message)
        purge(years_later(10, days=1))
        assert erased(message)

    def test_a_purged_message_cannot_be_decrypted_by_anyone(self, personas: Any) -> None:
        message = message_with_file(personas)
        purge(years_later(10, days=1))
        fresh = Message.objects.get(pk=message.pk)
        with pytest.raises(Erased):
            _ = fresh.body
        assert DataKey.objects.get(pk=message.data_key_id).wrapped is None

    def test_its_attachment_is_gone_from_the_file_store(self, personas: Any) -> None:
        message = message_with_file(personas)
        file = message.attachments.get().file
        assert stored(file)
        purge(years_later(10, days=1))
        assert not stored(file)
        with pytest.raises(Erased):
            b"".join(file_chunks(EncryptedFile.objects.get(pk=file.pk)))

    def test_the_thread_subject_goes_with_its_last_message(self, personas: Any) -> None:
        first = message_with_file(personas)
        message_with_file(personas, thread=thread_of(first), files=[])
        policy(personas, RecordKind.MESSAGE_CLINICAL, 30)
        purge(timezone.now() + 31 * DAY)
        assert thread_of(first).is_erased

    def test_administrative_messages_follow_their_own_policy(self, personas: Any) -> None:
        clinical = message_with_file(personas)
        admin = message_with_file(personas, category="administrative")
        policy(personas, RecordKind.MESSAGE_ADMINISTRATIVE, 30)
        purge(timezone.now() + 31 * DAY)
        assert erased(admin) and not erased(clinical)

    def test_a_draft_has_no_clock(self, personas: Any) -> None:
        draft = message_with_file(personas, send=False)
        purge(years_later(50))
        assert not erased(draft)

    def test_a_draft_left_in_an_old_thread_goes_with_the_thread(self, personas: Any) -> None:
        sent = message_with_file(personas)
        draft = message_with_file(personas, thread=thread_of(sent), send=False)
        purge(years_later(10, days=1))
        assert erased(draft) and thread_of(sent).is_erased
        assert not stored(draft.attachments.get().file)

    def test_the_thread_stays_while_a_message_is_within_its_period(self, personas: Any) -> None:
        first = message_with_file(personas, files=[])
        Message.objects.filter(pk=first.pk).update(sent_at=timezone.now() - 40 * DAY)
        message_with_file(personas, thread=thread_of(first), files=[])
        policy(personas, RecordKind.MESSAGE_CLINICAL, 30)
        purge(timezone.now())
        assert erased(first) and not thread_of(first).is_erased

    def test_a_reply_after_the_subject_went_is_refused(self, personas: Any) -> None:
        message = message_with_file(personas)
        purge(years_later(10, days=1))
        with pytest.raises(MessagingError, match="removed under the retention policy"):
            reply_send(
                actor=personas.patient,
                thread=thread_of(message),
                body="Thanks",
                send_key=uuid.uuid4(),
            )

    def test_each_purged_object_is_one_audit_event_without_health_data(self, personas: Any) -> None:
        message = message_with_file(personas)
        run = purge(years_later(10, days=1))
        events = AuditEvent.objects.filter(action="retention.object_purged")
        assert [(e.target_type, e.target_id) for e in events] == [
            ("messaging.message", str(message.pk))
        ]
        event = events.get()
        assert event.patient_id == personas.patient.pk
        assert event.details["run"] == run.pk and event.details["kind"] == "message_clinical"

    def test_the_tombstone_keeps_ids_dates_and_the_policy(self, personas: Any) -> None:
        message = message_with_file(personas)
        run = purge(years_later(10, days=1))
        tombstone = Tombstone.objects.get(object_id=str(message.pk))
        assert tombstone.kind == RecordKind.MESSAGE_CLINICAL
        assert tombstone.clock_started_at == message.sent_at
        assert (tombstone.amount, tombstone.unit) == (10, PeriodUnit.YEARS)
        assert tombstone.completed_at is not None and tombstone.run == run
        assert run.purged == {RecordKind.MESSAGE_CLINICAL: 1}


class TestAttachments:
    def test_a_shorter_attachment_policy_removes_only_the_file(self, personas: Any) -> None:
        message = message_with_file(personas)
        file = message.attachments.get().file
        policy(personas, RecordKind.ATTACHMENT, 30)
        purge(timezone.now() + 31 * DAY)
        assert not stored(file) and not erased(message)
        assert Message.objects.get(pk=message.pk).body


class TestRecordPackages:
    def test_the_clock_starts_when_the_request_closes(self, personas: Any) -> None:
        request = request_closed_with_documents(personas)
        document = request.documents.get().file
        purge(years_later(6, days=-1))
        assert stored(document)
        purge(years_later(6, days=1))
        assert not stored(document)
        assert erased(document)

    def test_the_clerks_document_titles_are_erased_with_the_files(self, personas: Any) -> None:
        clerk = personas.records_clerk
        request = request_verified(patient=personas.patient, clerk=clerk)
        (document,) = records_services.documents_add(
            actor=clerk, request=request, uploads=[attachment_check(name="a.pdf", data=PDF_BYTES)]
        )
        titled = records_services.document_rename(actor=clerk, document=document, title="MRI")
        records_services.request_withdraw(actor=clerk, request=request)
        purge(years_later(6, days=1))
        assert erased(titled.title_record)

    def test_a_fulfilled_clock_keeps_a_withdrawn_requests_files(self, personas: Any) -> None:
        request = request_closed_with_documents(personas)
        policy(personas, RecordKind.RECORD_PACKAGE, 30, clock_start=ClockStart.FULFILLED)
        purge(timezone.now() + 31 * DAY)
        assert stored(request.documents.get().file)

    def test_a_fulfilled_requests_package_is_purged(self, personas: Any) -> None:
        request = request_closed_with_documents(personas)
        RecordRequest.objects.filter(pk=request.pk).update(state=RequestState.FULFILLED)
        policy(personas, RecordKind.RECORD_PACKAGE, 30, clock_start=ClockStart.FULFILLED)
        purge(timezone.now() + 31 * DAY)
        assert not stored(request.documents.get().file)

    def test_an_open_request_is_never_purged(self, personas: Any) -> None:
        request = request_closed_with_documents(personas)
        RecordRequest.objects.filter(pk=request.pk).update(
            state=RequestState.IN_PROGRESS, closed_at=None
        )
        purge(years_later(50))
        assert stored(request.documents.get().file)


class TestGuestPackages:
    @pytest.fixture
    def authorized(self, personas: Any) -> Any:
        return authorization_on_paper(patient=personas.patient, recorded_by=personas.clinician)

    def test_the_clock_starts_when_access_ends(self, personas: Any, authorized: Any) -> None:
        package = package_send(personas)
        policy(personas, RecordKind.GUEST_PACKAGE, 30)
        purge(package.expires_at + 29 * DAY)
        assert not erased(package)
        purge(package.expires_at + 31 * DAY)
        assert erased(package)
        assert not stored(package.attachments.get().file)

    def test_a_recall_starts_the_clock_early(self, personas: Any, authorized: Any) -> None:
        package = package_send(personas)
        GuestPackage.objects.filter(pk=package.pk).update(recalled_at=timezone.now())
        policy(personas, RecordKind.GUEST_PACKAGE, 1)
        purge(timezone.now() + 2 * DAY)
        assert erased(package)

    def test_a_sent_clock_counts_from_sending(self, personas: Any, authorized: Any) -> None:
        package = package_send(personas)
        policy(personas, RecordKind.GUEST_PACKAGE, 1, clock_start=ClockStart.SENT)
        purge(timezone.now() + 2 * DAY)
        assert erased(package)


class TestAuthorizationScans:
    def test_an_active_authorizations_scan_is_kept(self, personas: Any) -> None:
        authorization = authorization_on_paper(
            patient=personas.patient,
            recorded_by=personas.clinician,
            expires_on=None,
            expiry_event="The end of the lawsuit",
        )
        purge(years_later(50))
        assert stored(authorization.scan)

    def test_a_revoked_authorizations_scan_goes_six_years_later(self, personas: Any) -> None:
        authorization = authorization_on_paper(
            patient=personas.patient, recorded_by=personas.clinician
        )
        consent_services.authorization_revoke(
            actor=personas.clinician, authorization=authorization, source=RevocationSource.WRITTEN
        )
        purge(years_later(6, days=-1))
        assert stored(authorization.scan)
        purge(years_later(6, days=1))
        assert not stored(authorization.scan)
        assert Tombstone.objects.get(kind=RecordKind.AUTHORIZATION_SCAN).patient == personas.patient


class TestInvitations:
    def test_an_unused_invitation_is_deleted_90_days_after_it_expired(self, personas: Any) -> None:
        invitation = invitation_issue(user=personas.patient, actor=personas.clinician)
        purge(invitation.expires_at + 89 * DAY)
        assert Invitation.objects.filter(pk=invitation.pk).exists()
        purge(invitation.expires_at + 91 * DAY)
        assert not Invitation.objects.filter(pk=invitation.pk).exists()
        assert Tombstone.objects.filter(kind=RecordKind.INVITATION).count() == 1


class TestHolds:
    def test_a_held_patients_messages_survive_and_go_after_release(self, personas: Any) -> None:
        message = message_with_file(personas)
        hold = services.hold_place(
            actor=personas.privacy_officer,
            scope=HoldScope.PATIENT,
            patient=personas.patient,
            reason="Litigation notice received",
        )
        later = years_later(10, days=1)
        purge(later)
        assert not erased(message)
        services.hold_release(actor=personas.privacy_officer, hold=hold)
        purge(later)
        assert erased(message)

    def test_a_thread_hold_keeps_only_that_thread(self, personas: Any) -> None:
        held, other = message_with_file(personas), message_with_file(personas)
        services.hold_place(
            actor=personas.privacy_officer,
            scope=HoldScope.THREAD,
            patient=personas.patient,
            thread=thread_of(held),
            reason="Complaint under review",
        )
        purge(years_later(10, days=1))
        assert not erased(held) and erased(other)

    def test_a_request_hold_keeps_its_files(self, personas: Any) -> None:
        request = request_closed_with_documents(personas)
        services.hold_place(
            actor=personas.privacy_officer,
            scope=HoldScope.REQUEST,
            patient=personas.patient,
            request=request,
            reason="Subpoena",
        )
        purge(years_later(6, days=1))
        assert stored(request.documents.get().file)

    def test_a_hold_ends_after_its_end_date(self, personas: Any) -> None:
        message = message_with_file(personas)
        services.hold_place(
            actor=personas.privacy_officer,
            scope=HoldScope.PATIENT,
            patient=personas.patient,
            reason="Audit",
            ends_on=timezone.localdate() + timedelta(days=5),
        )
        policy(personas, RecordKind.MESSAGE_CLINICAL, 1)
        purge(timezone.now() + 2 * DAY)
        assert not erased(message)
        purge(timezone.now() + 7 * DAY)
        assert erased(message)

    def test_another_patients_hold_keeps_nothing_of_this_one(self, personas: Any) -> None:
        message = message_with_file(personas)
        services.hold_place(
            actor=personas.privacy_officer,
            scope=HoldScope.PATIENT,
            patient=personas.other_patient,
            reason="Litigation",
        )
        purge(years_later(10, days=1))
        assert erased(message)


class TestInterruptions:
    def test_a_crash_after_the_keys_leaves_a_tombstone_the_next_run_finishes(
        self, personas: Any, monkeypatch: Any
    ) -> None:
        message = message_with_file(personas)
        file = message.attachments.get().file
        storage_class = type(files_storage())

        def killed(self: Any, name: str) -> None:
            raise SystemExit("worker killed")

        monkeypatch.setattr(storage_class, "delete", killed)
        with pytest.raises(SystemExit):
            purge(years_later(10, days=1))
        monkeypatch.undo()
        assert erased(message) and stored(file)  # half-erased: key gone, file kept
        assert services.purge_forecast().unfinished == 1

        run = purge(years_later(10, days=1))
        assert not stored(file)
        assert run.finished == {RecordKind.MESSAGE_CLINICAL: 1} and run.purged == {}
        assert PurgeRun.objects.filter(state=RunState.FAILED).count() == 1
        assert services.purge_forecast().unfinished == 0

    def test_a_store_that_fails_leaves_the_tombstone_open(
        self, personas: Any, monkeypatch: Any
    ) -> None:
        message_with_file(personas)

        def down(self: Any, name: str) -> None:
            raise OSError("store unavailable")

        monkeypatch.setattr(type(files_storage()), "delete", down)
        run = purge(years_later(10, days=1))
        assert run.state == RunState.FINISHED
        assert Tombstone.objects.get().completed_at is None

    def test_a_file_already_missing_does_not_stop_the_purge(self, personas: Any) -> None:
        message = message_with_file(personas)
        files_storage().delete(message.attachments.get().file.storage_name)
        purge(years_later(10, days=1))
        assert erased(message) and Tombstone.objects.get().completed_at is not None

    def test_running_twice_erases_and_audits_once(self, personas: Any) -> None:
        message_with_file(personas)
        later = years_later(10, days=1)
        purge(later)
        second = purge(later)
        assert second.purged == {} and second.finished == {}
        assert AuditEvent.objects.filter(action="retention.object_purged").count() == 1

    def test_a_rolled_back_batch_erases_nothing(self, personas: Any, monkeypatch: Any) -> None:
        message = message_with_file(personas)

        def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("database went away")

        monkeypatch.setattr(Tombstone.objects, "bulk_create", broken)
        run = purge(years_later(10, days=1))
        assert run.state == RunState.FAILED
        assert not erased(message) and stored(message.attachments.get().file)

    def test_a_hold_placed_while_a_purge_runs_counts_from_the_next_batch(
        self, personas: Any, monkeypatch: Any
    ) -> None:
        first = message_with_file(personas, files=[])
        Message.objects.filter(pk=first.pk).update(sent_at=timezone.now() - DAY)
        second = message_with_file(personas, files=[])
        finish = services._tombstones_finish

        def then_hold(tombstones: Any) -> Any:
            if tombstones.exists() and not LegalHold.objects.exists():  # after batch one
                services.hold_place(
                    actor=personas.privacy_officer,
                    scope=HoldScope.PATIENT,
                    patient=personas.patient,
                    reason="Litigation",
                )
            return finish(tombstones)

        monkeypatch.setattr(services, "_tombstones_finish", then_hold)
        purge(years_later(10, days=1), batch_size=1)
        assert erased(first) and not erased(second)

    def test_an_object_that_cannot_be_erased_stops_only_its_kind(
        self, personas: Any, monkeypatch: Any
    ) -> None:
        message = message_with_file(personas)
        invitation = invitation_issue(user=personas.patient, actor=personas.clinician)

        def broken(self: Any, obj: Any) -> Any:
            raise RuntimeError("cannot erase")

        monkeypatch.setattr(type(KINDS[RecordKind.MESSAGE_CLINICAL]), "erase", broken)
        run = purge(years_later(10, days=1))
        assert run.state == RunState.FAILED and not erased(message)
        assert not Invitation.objects.filter(pk=invitation.pk).exists()
        event = AuditEvent.objects.get(action="retention.purge_finished")
        assert event.details["failed_kinds"] == [RecordKind.MESSAGE_CLINICAL]

    def test_only_one_purge_runs_at_a_time(self, personas: Any) -> None:
        params = connection.get_connection_params()
        with psycopg.connect(
            host=params.get("host"),
            port=params.get("port"),
            user=params.get("user"),
            dbname=str(settings.DATABASES["default"]["NAME"]),
            autocommit=True,
        ) as other:
            other.execute("SELECT pg_advisory_lock(%s)", [services.PURGE_LOCK])
            assert services.retention_purge(trigger="command") is None

    def test_audit_events_are_never_touched(self, personas: Any) -> None:
        message_with_file(personas)
        before = list(AuditEvent.objects.order_by("pk").values_list("pk", "action"))
        purge(years_later(50))
        after = list(AuditEvent.objects.order_by("pk").values_list("pk", "action"))
        assert after[: len(before)] == before


class TestForecast:
    def test_it_counts_what_goes_in_the_next_30_days(self, personas: Any) -> None:
        message_with_file(personas)
        policy(personas, RecordKind.MESSAGE_CLINICAL, 20)
        forecast = services.purge_forecast(days=30)
        assert forecast.due[RecordKind.MESSAGE_CLINICAL] == 1
        assert forecast.due[RecordKind.ATTACHMENT] == 0
        assert services.purge_forecast(days=10).due[RecordKind.MESSAGE_CLINICAL] == 0

    def test_held_objects_are_not_forecast(self, personas: Any) -> None:
        message_with_file(personas)
        policy(personas, RecordKind.MESSAGE_CLINICAL, 20)
        services.hold_place(
            actor=personas.privacy_officer,
            scope=HoldScope.PATIENT,
            patient=personas.patient,
            reason="Litigation",
        )
        assert services.purge_forecast(days=30).due[RecordKind.MESSAGE_CLINICAL] == 0


def test_attachment_rows_stay_after_the_purge(personas: Any) -> None:
    message = message_with_file(personas)
    purge(years_later(10, days=1))
    assert Attachment.objects.filter(message=message).exists()


def test_a_staff_invitation_names_no_patient(personas: Any) -> None:
    invitation = invitation_issue(user=personas.records_clerk, actor=personas.privacy_officer)
    purge(invitation.expires_at + 91 * DAY)
    assert Tombstone.objects.get(kind=RecordKind.INVITATION).patient is None
    assert AuditEvent.objects.get(action="retention.object_purged").patient_id is None
