"""The passwords that open a locked PDF: the patient's document password and the staff
one-time password. Stored encrypted (the worker needs the value), never in clear."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection

from audit.models import AuditEvent
from encryption.services import object_erase
from messaging import document_passwords as passwords
from messaging.errors import MessagingError
from messaging.models import DocumentPassword, OneTimePassword
from messaging.protected_pdf import SPOKEN_ALPHABET
from tests.conftest import PASSWORD
from tests.messaging.factories import message_sent

pytestmark = pytest.mark.django_db

SECRET = "correct horse battery staple"


def set_for(personas: Any, password: str = SECRET) -> DocumentPassword:
    return passwords.document_password_set(
        actor=personas.patient, patient=personas.patient, password=password
    )


def stored_bytes(table: str, pk: Any) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT password FROM {table} WHERE id = %s", [pk])
        return bytes(cursor.fetchone()[0])


class TestDocumentPasswordSet:
    def test_it_is_stored_as_ciphertext(self, personas: Any) -> None:
        row = set_for(personas)
        raw = stored_bytes("messaging_documentpassword", row.pk)
        assert SECRET.encode() not in raw and len(raw) > len(SECRET)

    def test_the_worker_reads_it_back(self, personas: Any) -> None:
        set_for(personas)
        assert passwords.document_password_of(personas.patient) == SECRET
        assert passwords.document_password_of(personas.other_patient) is None

    def test_the_sign_in_password_is_refused(self, personas: Any) -> None:
        with pytest.raises(MessagingError) as refused:
            set_for(personas, PASSWORD)
        assert refused.value.code == "account_password"
        assert not DocumentPassword.objects.exists()

    def test_a_short_password_is_refused(self, personas: Any) -> None:
        with pytest.raises(MessagingError):
            set_for(personas, "eleven char")
        assert not DocumentPassword.objects.exists()

    def test_only_the_patient_sets_their_own(self, personas: Any) -> None:
        with pytest.raises(MessagingError):
            passwords.document_password_set(
                actor=personas.clinician, patient=personas.patient, password=SECRET
            )
        assert not DocumentPassword.objects.exists()

    def test_set_change_and_remove_are_audited_without_the_value(self, personas: Any) -> None:
        set_for(personas)
        set_for(personas, "another long document password")
        assert passwords.document_password_remove(actor=personas.patient, patient=personas.patient)
        actions = list(
            AuditEvent.objects.filter(action__startswith="messaging.document_password")
            .order_by("id")
            .values_list("action", flat=True)
        )
        assert actions == [
            "messaging.document_password_set",
            "messaging.document_password_changed",
            "messaging.document_password_removed",
        ]
        assert not AuditEvent.objects.filter(details__icontains="document password").exists()
        assert passwords.document_password_of(personas.patient) is None

    def test_a_change_keeps_one_row_with_the_new_value(self, personas: Any) -> None:
        set_for(personas)
        set_for(personas, "another long document password")
        assert DocumentPassword.objects.count() == 1
        assert passwords.document_password_of(personas.patient) == (
            "another long document password"
        )

    def test_once_its_key_is_destroyed_it_is_gone(self, personas: Any) -> None:
        object_erase(obj=set_for(personas), patient_id=personas.patient.pk)
        assert passwords.document_password_of(personas.patient) is None
        assert not passwords.document_password_exists(personas.patient)


class TestOneTimePassword:
    def test_it_is_issued_once_and_stored_as_ciphertext(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        password = passwords.one_time_password_issue(
            actor=personas.clinician, message_id=message.pk
        )
        assert re.fullmatch(rf"([{SPOKEN_ALPHABET}]{{4}}-){{3}}[{SPOKEN_ALPHABET}]{{4}}", password)
        row = OneTimePassword.objects.get(message=message)
        assert password.encode() not in stored_bytes("messaging_onetimepassword", row.pk)
        event = AuditEvent.objects.get(action="messaging.one_time_password_issued")
        assert password not in str(event.details)

    def test_it_is_consumed_once(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        password = passwords.one_time_password_issue(
            actor=personas.clinician, message_id=message.pk
        )
        assert passwords.one_time_password_pending(message.pk)
        assert passwords.one_time_password_consume(message_id=message.pk) == password
        assert passwords.one_time_password_consume(message_id=message.pk) is None
        assert not passwords.one_time_password_pending(message.pk)
        assert not OneTimePassword.objects.exists()

    def test_issuing_again_replaces_the_first(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        issue = passwords.one_time_password_issue
        issue(actor=personas.clinician, message_id=message.pk)
        second = issue(actor=personas.clinician, message_id=message.pk)
        assert passwords.one_time_password_consume(message_id=message.pk) == second

    def test_staff_outside_the_care_team_are_refused(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        with pytest.raises(MessagingError):
            passwords.one_time_password_issue(actor=personas.patient, message_id=message.pk)
        assert not OneTimePassword.objects.exists()

    def test_a_patients_own_message_gets_none(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        message.from_patient = True
        message.save(update_fields=["from_patient"])
        with pytest.raises(MessagingError):
            passwords.one_time_password_issue(actor=personas.clinician, message_id=message.pk)

    def test_a_message_without_one_has_nothing_to_consume(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        assert passwords.one_time_password_consume(message_id=message.pk) is None
        assert not AuditEvent.objects.filter(action="messaging.one_time_password_used").exists()

    def test_consuming_is_audited_without_the_value(self, personas: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        password = passwords.one_time_password_issue(
            actor=personas.clinician, message_id=message.pk
        )
        passwords.one_time_password_consume(message_id=message.pk)
        event = AuditEvent.objects.get(action="messaging.one_time_password_used")
        assert event.patient_id == personas.patient.pk and password not in str(event.details)
