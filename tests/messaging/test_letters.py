"""Patients who asked for postal mail only (45 CFR 164.522(b)): their notices are letters.

A letter is a delivery no e-mail worker ever claims; it waits in the staff inbox until
someone prints it, and printing it is what marks it sent. Real SMTP on loopback, and a
real Celery worker fed by Redis for the "never e-mailed" check.
"""

from __future__ import annotations

import io
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AuditEvent
from consent.services import preferences_update
from messaging.delivery import deliveries_sweep, delivery_send
from messaging.models import Channel, Delivery, DeliveryState
from messaging.services import BulkItem, messages_send_bulk
from tests.conftest import page_query_count
from tests.messaging.conftest import ScriptedMailbox
from tests.messaging.factories import message_sent

SUBJECT = "Melanoma biopsy findings"
BODY = "Your biopsy showed stage II melanoma; we start pembrolizumab on Tuesday."
ADDRESS = "4 Elm Street\nSpringfield 01101"


def postal_only(patient: Any, *, on: bool = True) -> None:
    preferences_update(actor=patient, patient=patient, postal_only=on, postal_address=ADDRESS)


def sent(personas: Any, after_commit: Any, patient: Any = None, **extra: Any) -> Delivery:
    """A message sent as the records clerk; on-commit work runs, as in production."""
    with after_commit(execute=True):
        message = message_sent(
            author=personas.records_clerk, patient=patient or personas.patient, **extra
        )
    return Delivery.objects.get(message=message)


def inbox(client_for: Any, personas: Any) -> str:
    response = client_for(personas.records_clerk).get(reverse("messaging:inbox"))
    assert response.status_code == 200
    return response.content.decode()


def printed(client_for: Any, personas: Any, delivery: Delivery) -> Any:
    url = reverse("messaging:delivery_letter", args=[delivery.pk])
    response = client_for(personas.records_clerk).post(url)
    assert response.status_code == 200
    return response


@pytest.mark.django_db
class TestPostalOnlyNotices:
    @pytest.fixture(autouse=True)
    def _postal(self, personas: Any, smtp_server: Any) -> None:
        postal_only(personas.patient)

    def test_the_notice_is_a_letter_and_no_email_goes_out(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        delivery = sent(personas, django_capture_on_commit_callbacks)
        assert (delivery.channel, delivery.state) == (Channel.LETTER, DeliveryState.PENDING)
        assert delivery.attempts == 0
        assert smtp_server.messages == []

    def test_a_bulk_send_writes_letters_only_for_postal_only_patients(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        items = [
            BulkItem(uuid.uuid4(), patient, "Flu clinic", "Walk-ins welcome.", "administrative")
            for patient in (personas.patient, personas.other_patient)
        ]
        with django_capture_on_commit_callbacks(execute=True):
            messages_send_bulk(actor=personas.records_clerk, items=items)
        channels = dict(Delivery.objects.values_list("message__thread__patient__email", "channel"))
        assert channels == {
            personas.patient.email: Channel.LETTER,
            personas.other_patient.email: Channel.EMAIL,
        }
        assert [m["X-Envelope-To"] for m in smtp_server.messages] == [personas.other_patient.email]

    def test_the_sweep_and_a_stray_prompt_leave_a_letter_alone(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        delivery = sent(personas, django_capture_on_commit_callbacks)
        assert delivery_send(delivery_id=delivery.pk) == "not_due"
        later = timezone.now() + timedelta(days=3)
        with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
            assert deliveries_sweep() == 0
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 0)
        assert smtp_server.messages == []

    def test_the_inbox_says_letter_to_print_until_it_is_printed(
        self,
        personas: Any,
        client_for: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        delivery = sent(personas, django_capture_on_commit_callbacks)
        assert "Letter to print" in inbox(client_for, personas)
        printed(client_for, personas, delivery)
        assert "Letter to print" not in inbox(client_for, personas)

    def test_the_inbox_query_count_does_not_grow_with_letters(
        self, personas: Any, client_for: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        client = client_for(personas.records_clerk)
        sent(personas, django_capture_on_commit_callbacks, files=[])
        few = page_query_count(client, reverse("messaging:inbox"))
        for _ in range(6):
            sent(personas, django_capture_on_commit_callbacks, files=[])
        assert page_query_count(client, reverse("messaging:inbox")) == few

    def test_the_thread_offers_to_print_the_letter(
        self, personas: Any, client_for: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        delivery = sent(personas, django_capture_on_commit_callbacks)
        url = reverse("messaging:thread", args=[delivery.message.thread_id])
        page = client_for(personas.records_clerk).get(url).content.decode()
        assert "Print the letter" in page
        assert reverse("messaging:delivery_letter", args=[delivery.pk]) in page

    def test_the_letter_holds_the_postal_address_and_nothing_of_the_message(
        self, personas: Any, client_for: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        delivery = sent(personas, django_capture_on_commit_callbacks, subject=SUBJECT, body=BODY)
        pdf = PdfReader(io.BytesIO(printed(client_for, personas, delivery).content))
        text = " ".join(page.extract_text() for page in pdf.pages)
        assert "Penelope Quartermaine" in text
        assert "4 Elm Street" in text and "Springfield 01101" in text
        assert "by post instead of e-mail" in text
        for secret in (SUBJECT, "melanoma", "biopsy", "pembrolizumab"):
            assert secret.lower() not in text.lower()

    def test_printing_marks_the_letter_sent_once(
        self, personas: Any, client_for: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        delivery = sent(personas, django_capture_on_commit_callbacks)
        printed(client_for, personas, delivery)
        delivery.refresh_from_db()
        first_sent_at = delivery.sent_at
        assert delivery.state == DeliveryState.SENT and first_sent_at is not None
        with time_machine.travel(timezone.now() + timedelta(hours=2)):
            printed(client_for, personas, delivery)
        delivery.refresh_from_db()
        assert delivery.sent_at == first_sent_at
        events = AuditEvent.objects.filter(action="messaging.letter_printed")
        assert [e.target_id for e in events] == [str(delivery.pk)] * 2

    def test_a_patient_back_on_email_gets_email_notices_again(
        self,
        personas: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        postal_only(personas.patient, on=False)
        delivery = sent(personas, django_capture_on_commit_callbacks)
        assert (delivery.channel, delivery.state) == (Channel.EMAIL, DeliveryState.SENT)
        assert [m["X-Envelope-To"] for m in smtp_server.messages] == [personas.patient.email]


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_emails_others_and_never_the_postal_only_patient(
    personas: Any, mailbox: ScriptedMailbox, worker: Any
) -> None:
    postal_only(personas.patient)
    letter = message_sent(author=personas.records_clerk, patient=personas.patient)
    message_sent(author=personas.records_clerk, patient=personas.other_patient)
    deadline = time.monotonic() + 25
    while not mailbox.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # anything the worker had for the postal-only patient came before
    assert [m["X-Envelope-To"] for m in mailbox.messages] == [personas.other_patient.email]
    delivery = Delivery.objects.get(message=letter)
    assert (delivery.channel, delivery.state, delivery.attempts) == (
        Channel.LETTER,
        DeliveryState.PENDING,
        0,
    )
