"""The patient's side of messaging: inbox, reading, downloads, replies, foreign ids."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from messaging import services
from messaging.models import Message
from tests.conftest import page_query_count
from tests.messaging.factories import PDF_BYTES, PNG_BYTES, message_sent

pytestmark = pytest.mark.django_db


def thread_url(message: Message) -> str:
    return reverse("portal:thread", args=[message.thread_id])


class TestInbox:
    def test_unread_threads_come_first(self, personas: Any, client_for: Any) -> None:
        older = message_sent(author=personas.clinician, patient=personas.patient, subject="Older")
        newer = message_sent(author=personas.clinician, patient=personas.patient, subject="Newer")
        services.message_open(actor=personas.patient, message=newer)
        page = client_for(personas.patient).get(reverse("portal:inbox")).content.decode()
        assert page.index("Older") < page.index("Newer")
        assert older.opened_at is None

    def test_the_query_count_does_not_grow_with_the_messages(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)

        message_sent(author=personas.clinician, patient=personas.patient, files=[])
        few = page_query_count(client, reverse("portal:inbox"))
        for _ in range(8):
            message_sent(author=personas.clinician, patient=personas.patient, files=[])
        assert page_query_count(client, reverse("portal:inbox")) == few

    def test_a_staff_draft_is_not_visible_to_the_patient(
        self, personas: Any, client_for: Any
    ) -> None:
        draft = message_sent(
            author=personas.clinician, patient=personas.patient, subject="Unsent", send=False
        )
        client = client_for(personas.patient)
        assert "Unsent" not in client.get(reverse("portal:inbox")).content.decode()
        assert client.get(thread_url(draft)).status_code == 404


class TestReading:
    def test_opening_decrypts_records_the_view_and_the_read_receipt(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(
            author=personas.clinician, patient=personas.patient, body="Bring **water**"
        )
        page = client_for(personas.patient).get(thread_url(message)).content.decode()
        assert "Bring <strong>water</strong>" in page
        message.refresh_from_db()
        assert message.opened_at is not None
        event = AuditEvent.objects.get(action="messaging.message_opened")
        assert event.actor_id == personas.patient.pk and event.target_id == str(message.pk)

    def test_another_patients_thread_is_404(self, personas: Any, client_for: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        response = client_for(personas.other_patient).get(thread_url(message))
        assert response.status_code == 404

    def test_a_recalled_message_says_so_and_shows_nothing_else(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient, body="Oops")
        services.message_recall(actor=personas.clinician, message=message)
        page = client_for(personas.patient).get(thread_url(message)).content.decode()
        assert "took back this message" in page and "Oops" not in page
        assert "Your appointment" not in page and "Withdrawn message" in page
        assert "results.pdf" not in page

    def test_an_expired_message_says_so(self, personas: Any, client_for: Any) -> None:
        message = message_sent(
            author=personas.clinician,
            patient=personas.patient,
            body="Time-limited",
            expires_at=timezone.now() + timedelta(days=1),
        )
        with time_machine.travel(timezone.now() + timedelta(days=2)):
            page = client_for(personas.patient).get(thread_url(message)).content.decode()
        assert "was available until" in page and "Time-limited" not in page


class TestDownloads:
    def test_the_bytes_are_what_staff_uploaded_and_the_download_is_audited(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        attachment = message.attachments.get()
        response = client_for(personas.patient).get(
            reverse("portal:attachment", args=[attachment.pk])
        )
        assert b"".join(response.streaming_content) == PDF_BYTES
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response["Cache-Control"]
        assert AuditEvent.objects.filter(
            action="messaging.attachment_downloaded", actor_id=personas.patient.pk
        ).exists()

    def test_another_patients_attachment_is_404(self, personas: Any, client_for: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        url = reverse("portal:attachment", args=[message.attachments.get().pk])
        assert client_for(personas.other_patient).get(url).status_code == 404

    def test_a_recalled_messages_attachment_is_404(self, personas: Any, client_for: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        services.message_recall(actor=personas.clinician, message=message)
        url = reverse("portal:attachment", args=[message.attachments.get().pk])
        assert client_for(personas.patient).get(url).status_code == 404


class TestReplying:
    def test_a_reply_with_an_attachment_reaches_the_care_team_unread(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        client_for(personas.patient).post(
            reverse("portal:reply", args=[message.thread_id]),
            {
                "send_key": str(uuid.uuid4()),
                "body": "Thank you",
                "attachments": SimpleUploadedFile("photo.png", PNG_BYTES),
            },
        )
        reply = Message.objects.get(from_patient=True)
        assert reply.attachments.count() == 1
        inbox = client_for(personas.clinician).get(reverse("messaging:inbox")).content.decode()
        assert "1 unread" in inbox

    def test_a_reply_with_a_renamed_executable_is_refused(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        response = client_for(personas.patient).post(
            reverse("portal:reply", args=[message.thread_id]),
            {
                "send_key": str(uuid.uuid4()),
                "body": "See attached",
                "attachments": SimpleUploadedFile("scan.pdf", b"MZ\x90\x00" + b"\x00" * 40),
            },
        )
        assert response.status_code == 400
        assert "not a file type we accept" in response.content.decode()
        assert not Message.objects.filter(from_patient=True).exists()


class TestLongThreads:
    def _thread_with(self, personas: Any, count: int) -> Message:
        first = message_sent(author=personas.clinician, patient=personas.patient, files=[])
        for _ in range(count - 1):
            message_sent(
                author=personas.clinician, patient=personas.patient, thread=first.thread, files=[]
            )
        return first

    def test_the_message_page_query_count_does_not_grow_with_the_thread(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        short = page_query_count(client, thread_url(self._thread_with(personas, 3)))
        long = page_query_count(client, thread_url(self._thread_with(personas, 25)))
        assert long == short

    def test_the_newest_messages_show_first_with_a_link_to_earlier_ones(
        self, personas: Any, client_for: Any
    ) -> None:
        first = self._thread_with(personas, 25)
        page = client_for(personas.patient).get(thread_url(first)).content.decode()
        assert "Earlier messages" in page and "Page 1 of 2" in page
        opened = Message.objects.filter(opened_at__isnull=False).count()
        assert opened == 20  # only what was on the page counts as read

    def test_the_staff_thread_page_query_count_does_not_grow_either(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.clinician)
        url = "messaging:thread"
        short = page_query_count(
            client, reverse(url, args=[self._thread_with(personas, 3).thread_id])
        )
        long = page_query_count(
            client, reverse(url, args=[self._thread_with(personas, 25).thread_id])
        )
        assert long == short


class TestInboxStates:
    def test_a_withdrawn_message_is_marked_in_the_list(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        services.message_recall(actor=personas.clinician, message=message)
        page = client_for(personas.patient).get(reverse("portal:inbox")).content.decode()
        assert "Withdrawn by the sender" in page and "New" not in page
        assert "Your appointment" not in page  # the subject goes with the message

    def test_an_expired_message_is_marked_in_the_list(self, personas: Any, client_for: Any) -> None:
        message_sent(
            author=personas.clinician,
            patient=personas.patient,
            expires_at=timezone.now() + timedelta(days=1),
        )
        client = client_for(personas.patient)
        assert "Expired" not in client.get(reverse("portal:inbox")).content.decode()
        with time_machine.travel(timezone.now() + timedelta(days=2)):
            page = client_for(personas.patient).get(reverse("portal:inbox")).content.decode()
        assert "Expired" in page and ">New<" not in page


def test_the_patients_inbox_view_is_audited(personas: Any, client_for: Any) -> None:
    message = message_sent(author=personas.clinician, patient=personas.patient)
    client_for(personas.patient).get(reverse("portal:inbox"))
    event = AuditEvent.objects.get(action="messaging.inbox_listed")
    assert (event.actor_id, event.details) == (
        personas.patient.pk,
        {"threads": [str(message.thread_id)]},
    )
