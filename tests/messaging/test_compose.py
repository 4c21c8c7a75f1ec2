"""Composing and sending through the service: scope, idempotency, drafts, storage, recall."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from encryption.models import DataKey, EncryptedFile
from encryption.services import kek_primary
from messaging import policies, selectors, services
from messaging.errors import MessagingError
from messaging.models import UNREAD_FOREVER, Delivery, Message, MessageState, Thread
from tests.messaging.factories import PDF_BYTES, message_sent

pytestmark = pytest.mark.django_db


class TestScope:
    def test_a_clinician_may_message_a_patient_on_their_care_team(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        assert message.state == MessageState.SENT

    def test_a_clinician_may_not_message_another_patient(self, personas: Any) -> None:
        with pytest.raises(MessagingError, match="cannot message this patient"):
            message_sent(author=personas.clinician, patient=personas.other_patient)
        assert not Thread.objects.exists()

    def test_a_records_clerk_may_message_any_patient(self, personas: Any) -> None:
        message = message_sent(author=personas.records_clerk, patient=personas.other_patient)
        assert message.state == MessageState.SENT
        assert message.thread.patient == personas.other_patient
        assert Delivery.objects.filter(message=message).count() == 1

    def test_a_patient_may_not_compose(self, personas: Any) -> None:
        with pytest.raises(MessagingError):
            message_sent(author=personas.other_patient, patient=personas.patient)


class TestMayMessageIn:
    """The reply form of a thread a user sees: the same answer as ``may_message``, and for
    a clinician no second care-team query (seeing the thread proved it)."""

    def test_a_clinician_who_sees_the_thread_may_reply_without_a_query(
        self, personas: Any, django_assert_num_queries: Any
    ) -> None:
        thread = message_sent(author=personas.clinician, patient=personas.patient).thread
        found = selectors.thread_for(user=personas.clinician, thread_id=thread.pk)
        with django_assert_num_queries(0):
            assert policies.may_message_in(personas.clinician, found)

    def test_nobody_may_reply_to_a_deactivated_patient(self, personas: Any) -> None:
        thread = message_sent(author=personas.clinician, patient=personas.patient).thread
        personas.patient.is_active = False
        personas.patient.save(update_fields=["is_active"])
        for user in (personas.clinician, personas.records_clerk, personas.privacy_officer):
            found = Thread.objects.select_related("patient").get(pk=thread.pk)
            assert not policies.may_message_in(user, found)

    def test_it_answers_as_may_message_for_every_persona(self, personas: Any) -> None:
        thread = message_sent(author=personas.records_clerk, patient=personas.patient).thread
        for user in personas.all():
            expected = policies.may_message(user, personas.patient)
            assert policies.may_message_in(user, thread) == expected, user.role


class TestIdempotentSend:
    def test_the_same_send_key_sends_once(self, personas: Any) -> None:
        key = uuid.uuid4()
        first = message_sent(author=personas.clinician, patient=personas.patient, send_key=key)
        again = message_sent(author=personas.clinician, patient=personas.patient, send_key=key)
        assert again.pk == first.pk
        assert Message.objects.count() == 1 and Delivery.objects.count() == 1
        assert AuditEvent.objects.filter(action="messaging.message_sent").count() == 1

    def test_a_resubmission_stores_no_second_copy_of_the_attachment(self, personas: Any) -> None:

        key = uuid.uuid4()
        message_sent(author=personas.clinician, patient=personas.patient, send_key=key)
        message_sent(author=personas.clinician, patient=personas.patient, send_key=key)
        assert EncryptedFile.objects.count() == 1

    def test_another_users_key_is_refused(self, personas: Any) -> None:
        key = uuid.uuid4()
        message_sent(author=personas.clinician, patient=personas.patient, send_key=key)
        with pytest.raises(MessagingError, match="belongs to someone else"):
            message_sent(author=personas.records_clerk, patient=personas.patient, send_key=key)


class TestDrafts:
    def test_a_draft_is_in_no_inbox_and_sends_no_notice(self, personas: Any) -> None:
        draft = message_sent(author=personas.clinician, patient=personas.patient, send=False)
        assert draft.state == MessageState.DRAFT
        assert draft.thread.last_message_at is None
        assert not Delivery.objects.exists()

    def test_saving_again_keeps_one_draft_and_adds_attachments(self, personas: Any) -> None:
        key = uuid.uuid4()
        message_sent(author=personas.clinician, patient=personas.patient, send=False, send_key=key)
        message_sent(
            author=personas.clinician,
            patient=personas.patient,
            send=False,
            send_key=key,
            subject="Changed subject",
        )
        draft = Message.objects.get()
        assert draft.attachments.count() == 2
        assert Thread.objects.get().subject == "Changed subject"

    def test_sending_a_draft_sends_it(self, personas: Any) -> None:
        key = uuid.uuid4()
        message_sent(author=personas.clinician, patient=personas.patient, send=False, send_key=key)
        sent = message_sent(author=personas.clinician, patient=personas.patient, send_key=key)
        assert sent.state == MessageState.SENT and Delivery.objects.count() == 1


class TestSubjectGuard:
    def test_an_ssn_in_the_subject_blocks_and_is_audited(self, personas: Any) -> None:
        with pytest.raises(MessagingError, match="Social Security") as refused:
            message_sent(author=personas.clinician, patient=personas.patient, subject="123-45-6789")
        assert refused.value.code == "subject_blocked"
        assert not Message.objects.exists()
        event = AuditEvent.objects.get(action="messaging.send_refused")
        assert event.details == {"reason": "subject_ssn"}

    def test_a_warning_needs_the_senders_acknowledgement(self, personas: Any) -> None:
        with pytest.raises(MessagingError) as refused:
            message_sent(
                author=personas.clinician, patient=personas.patient, subject="Call 555-123-4567"
            )
        assert refused.value.code == "subject_warning"

    def test_the_patients_mrn_in_the_subject_warns(self, personas: Any) -> None:
        with pytest.raises(MessagingError, match="medical record number"):
            message_sent(
                author=personas.clinician, patient=personas.patient, subject="Re MRN-555001"
            )

    def test_a_draft_is_not_checked_until_it_is_sent(self, personas: Any) -> None:
        draft = message_sent(
            author=personas.clinician, patient=personas.patient, subject="123-45-6789", send=False
        )
        assert draft.state == MessageState.DRAFT
        with pytest.raises(MessagingError, match="Social Security"):
            services.message_compose(
                actor=personas.clinician,
                draft=services.Draft(
                    send_key=draft.send_key,
                    patient=personas.patient,
                    subject="123-45-6789",
                    body="Please see the attached.",
                    category="clinical",
                ),
                send=True,
            )


class TestStorage:
    def test_subject_body_and_attachment_name_are_not_in_the_database_in_clear(
        self, personas: Any
    ) -> None:
        message_sent(
            author=personas.clinician,
            patient=personas.patient,
            subject="Zebrafish biopsy",
            body="Quokka results attached",
            files=[("platypus-scan.pdf", PDF_BYTES)],
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM messaging_thread) t "
                "UNION ALL SELECT string_agg(m::text, ' ') FROM "
                "(SELECT * FROM messaging_message) m "
                "UNION ALL SELECT string_agg(f::text, ' ') FROM "
                "(SELECT * FROM encryption_encryptedfile) f"
            )
            dump = " ".join(row[0] or "" for row in cursor.fetchall()).lower()
        for secret in ("zebrafish", "quokka", "platypus"):
            assert secret not in dump


def statements(queries: CaptureQueriesContext, start: str) -> int:
    return sum(q["sql"].startswith(start) for q in queries.captured_queries)


class TestOneTransaction:
    """A send saves its keys, files, thread, message, event and notice row in one
    transaction (here inside the test's: one savepoint), the keys in one INSERT."""

    def test_a_send_with_one_attachment_is_one_transaction(self, personas: Any) -> None:
        kek_primary()  # a new installation registers its first key once, in its own
        with CaptureQueriesContext(connection) as queries:
            message = message_sent(author=personas.clinician, patient=personas.patient)
        assert statements(queries, "SAVEPOINT") == 1
        assert statements(queries, 'INSERT INTO "encryption_datakey"') == 1
        [attachment] = message.attachments.select_related("file")
        keys = {message.thread.data_key_id, message.data_key_id, attachment.file.data_key_id}
        assert len(keys) == 3 and DataKey.objects.filter(pk__in=keys).count() == 3

    def test_a_send_without_attachments_writes_its_two_keys_at_once(self, personas: Any) -> None:
        kek_primary()
        with CaptureQueriesContext(connection) as queries:
            message_sent(author=personas.clinician, patient=personas.patient, files=[])
        assert statements(queries, 'INSERT INTO "encryption_datakey"') == 1
        assert statements(queries, "SAVEPOINT") == 1

    def test_a_new_threads_new_mark_is_written_with_it_not_recounted(self, personas: Any) -> None:
        with CaptureQueriesContext(connection) as queries:
            message = message_sent(author=personas.clinician, patient=personas.patient)
        assert statements(queries, 'UPDATE "messaging_thread"') == 0
        thread = Thread.objects.get(pk=message.thread_id)
        assert thread.patient_unread_until == UNREAD_FOREVER

    def test_a_send_that_does_not_commit_leaves_no_key_row_or_ciphertext(
        self, personas: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from encryption import files

        encrypted: list[Any] = []

        def encrypt_spied(**kwargs: Any) -> Any:
            encrypted.append(files.file_encrypt(**kwargs))
            return encrypted[-1]

        def notice_row_fails(**kwargs: Any) -> None:
            raise RuntimeError("the notice row could not be written")

        monkeypatch.setattr(services, "file_encrypt", encrypt_spied)
        monkeypatch.setattr("messaging.delivery.delivery_create", notice_row_fails)
        keys_before = DataKey.objects.count()
        with pytest.raises(RuntimeError):
            message_sent(author=personas.clinician, patient=personas.patient)
        assert not Message.objects.exists() and not EncryptedFile.objects.exists()
        assert DataKey.objects.count() == keys_before
        [record] = encrypted
        assert record.storage_name and not files.files_storage().exists(record.storage_name)

    def test_the_attachment_and_body_read_back_under_their_keys(self, personas: Any) -> None:
        from encryption.files import file_chunks

        sent = message_sent(author=personas.clinician, patient=personas.patient)
        message = Message.objects.get(pk=sent.pk)
        [attachment] = message.attachments.select_related("file")
        assert b"".join(file_chunks(attachment.file)) == PDF_BYTES
        assert message.body == "Please bring your medication list."
        assert message.thread.subject == "Your appointment"


class TestRecall:
    def test_the_sender_recalls_an_unopened_message(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        services.message_recall(actor=personas.clinician, message=message)
        message.refresh_from_db()
        assert message.state == MessageState.RECALLED and message.recalled_at is not None
        assert not services.message_open(actor=personas.patient, message=message)

    def test_an_opened_message_cannot_be_recalled(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        assert services.message_open(actor=personas.patient, message=message)
        with pytest.raises(MessagingError, match="already opened"):
            services.message_recall(actor=personas.clinician, message=message)
        message.refresh_from_db()
        assert message.state == MessageState.SENT

    def test_only_the_sender_may_recall(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        with pytest.raises(MessagingError, match="Only the sender"):
            services.message_recall(actor=personas.records_clerk, message=message)


class TestOpening:
    def test_the_first_opening_is_the_read_receipt_and_every_one_is_audited(
        self, personas: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        services.message_open(actor=personas.patient, message=message)
        message.refresh_from_db()
        first = message.opened_at
        services.message_open(actor=personas.patient, message=message)
        message.refresh_from_db()
        assert first is not None and message.opened_at == first
        assert AuditEvent.objects.filter(action="messaging.message_opened").count() == 2

    def test_an_expired_message_does_not_open(self, personas: Any) -> None:
        from datetime import timedelta

        import time_machine
        from django.utils import timezone

        message = message_sent(
            author=personas.clinician,
            patient=personas.patient,
            expires_at=timezone.now() + timedelta(days=1),
        )
        with time_machine.travel(timezone.now() + timedelta(days=2)):
            assert not services.message_open(actor=personas.patient, message=message)
        message.refresh_from_db()
        assert message.opened_at is None


class TestReplies:
    def test_a_patient_reply_lands_unread_and_reopens_the_thread(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        services.thread_mark_handled(actor=personas.clinician, thread=message.thread, handled=True)
        reply = services.reply_send(
            actor=personas.patient, thread=message.thread, body="Thanks", send_key=uuid.uuid4()
        )
        thread = Thread.objects.get()
        assert reply.from_patient and reply.staff_read_at is None
        assert thread.handled_at is None

    def test_a_patient_cannot_reply_in_someone_elses_thread(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        with pytest.raises(MessagingError):
            services.reply_send(
                actor=personas.other_patient,
                thread=message.thread,
                body="x",
                send_key=uuid.uuid4(),
            )


class TestDraftsStayWithTheirPatient:
    def test_a_drafts_key_cannot_move_it_to_another_patient(self, personas: Any) -> None:
        key = uuid.uuid4()
        message_sent(
            author=personas.records_clerk, patient=personas.patient, send=False, send_key=key
        )
        with pytest.raises(MessagingError, match="another patient"):
            message_sent(
                author=personas.records_clerk, patient=personas.other_patient, send_key=key
            )
        assert Thread.objects.get().patient == personas.patient

    def test_a_recall_committed_before_the_opening_wins(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        stale = Message.objects.get(pk=message.pk)  # read before the recall, as a page would
        services.message_recall(actor=personas.clinician, message=message)
        assert services.messages_open(actor=personas.patient, messages=[stale]) == set()
        stale.refresh_from_db()
        assert stale.opened_at is None
