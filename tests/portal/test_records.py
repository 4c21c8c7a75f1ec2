"""The patient's record requests: asking, following the clock, reading the letters in the
portal, withdrawing; and someone else's request is not there."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from audit.models import AuditEvent
from messaging.models import Message
from records import services
from records.models import ArrivedBy, DeliverTo, RecordRequest, RequestState
from tests.conftest import page_query_count
from tests.records.factories import built, request_received

pytestmark = pytest.mark.django_db

LIST = reverse("portal:records")
NEW = reverse("portal:records_new")
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def detail(req: RecordRequest) -> str:
    return reverse("portal:records_detail", args=[req.pk])


def text_of(response: Any) -> str:
    return response.content.decode()


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "categories": ["lab_results", "imaging"],
        "records_from": "2025-01-01",
        "records_to": "2025-12-31",
        "details": "The scans from my knee surgery",
        "deliver_to": DeliverTo.PORTAL,
        "asker": "self",
    }
    data.update(overrides)
    return data


def letter_text(client: Client, req: RecordRequest) -> str:
    """Follow the portal as the patient would: the request, its letter's message, the PDF."""
    page = text_of(client.get(detail(req)))
    thread = re.search(r'href="(/portal/messages/[^"]+/)"', page)
    assert thread, "the letter links to its message"
    message = text_of(client.get(thread.group(1)))
    attachment = re.search(r'href="(/portal/attachments/[^"]+/)"', message)
    assert attachment, "the message carries the letter"
    response: Any = client.get(attachment.group(1))
    assert response["Content-Type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(b"".join(response.streaming_content)))
    return " ".join(" ".join((p.extract_text() or "").split()) for p in pdf.pages)


class TestAsking:
    def test_a_request_shows_its_due_date_thirty_days_on(
        self, personas: Any, client_for: Any
    ) -> None:
        with time_machine.travel(MONDAY, tick=False):
            response = client_for(personas.patient).post(NEW, form_data(), follow=True)
        req = RecordRequest.objects.get()
        assert (req.patient, req.arrived_by) == (personas.patient, ArrivedBy.PORTAL)
        assert "We will act on it by Wednesday 1 April 2026." in text_of(response)
        assert "Wednesday 1 April 2026" in text_of(response)  # and on the page itself

    def test_the_request_is_in_the_clerks_queue(self, personas: Any, client_for: Any) -> None:
        client_for(personas.patient).post(NEW, form_data())
        req = RecordRequest.objects.get()
        queue = text_of(client_for(personas.records_clerk).get(reverse("records:queue")))
        assert reverse("records:request", args=[req.pk]) in queue

    def test_the_portal_pdf_is_the_default(self, personas: Any, client_for: Any) -> None:
        page = text_of(client_for(personas.patient).get(NEW))
        assert re.search(r'value="portal"[^>]*checked', page)

    def test_a_third_party_copy_names_the_recipient_and_address(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        refused = client.post(NEW, form_data(deliver_to=DeliverTo.THIRD_PARTY))
        assert refused.status_code == 400
        assert "Name the person to send the copy to." in text_of(refused)
        client.post(
            NEW,
            form_data(
                deliver_to=DeliverTo.THIRD_PARTY,
                third_party_name="Dr. Ana Rivera",
                third_party_email="dr.rivera@northside-clinic.test",
                third_party_address="12 Harbour Road, Springfield",
            ),
        )
        req = RecordRequest.objects.get()
        assert (req.third_party_name, req.third_party_address) == (
            "Dr. Ana Rivera",
            "12 Harbour Road, Springfield",
        )

    def test_a_representative_gives_their_name_and_authority(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        refused = client.post(NEW, form_data(asker="representative"))
        assert refused.status_code == 400
        assert "Give the representative&#x27;s name." in text_of(refused)
        assert "The scans from my knee surgery" in text_of(refused)  # nothing typed is lost
        client.post(
            NEW,
            form_data(
                asker="representative",
                representative_name="Quentin Quartermaine",
                representative_authority="Parent of a minor",
            ),
        )
        assert RecordRequest.objects.get().representative_authority == "Parent of a minor"

    def test_no_records_ticked_is_refused(self, personas: Any, client_for: Any) -> None:
        response = client_for(personas.patient).post(NEW, form_data(categories=[]))
        assert response.status_code == 400
        assert "Tick at least one kind of record." in text_of(response)
        assert not RecordRequest.objects.exists()

    def test_staff_get_404(self, personas: Any, client_for: Any) -> None:
        for user in (personas.records_clerk, personas.clinician):
            assert client_for(user).get(NEW).status_code == 404


class TestMyRequests:
    def test_the_list_shows_state_received_and_due(self, personas: Any, client_for: Any) -> None:
        with time_machine.travel(MONDAY, tick=False):
            req = request_received(patient=personas.patient)
            page = text_of(client_for(personas.patient).get(LIST))
        assert detail(req) in page and "Received" in page
        assert "2 Mar 2026" in page and "1 Apr 2026" in page
        assert "Request a copy of my records" in page

    def test_a_fulfilled_request_links_to_the_message_with_the_copy(
        self, personas: Any, client_for: Any
    ) -> None:
        req = built(personas)
        services.request_fulfil(actor=personas.records_clerk, request=req)
        req.refresh_from_db()
        thread_id = Message.objects.get(pk=str(req.delivered_message_id)).thread_id
        page = text_of(client_for(personas.patient).get(LIST))
        assert "Fulfilled" in page
        assert f'href="{reverse("portal:thread", args=[thread_id])}"' in page

    def test_another_patients_requests_are_not_listed(self, personas: Any, client_for: Any) -> None:
        theirs = request_received(patient=personas.other_patient)
        assert detail(theirs) not in text_of(client_for(personas.patient).get(LIST))

    def test_the_list_costs_the_same_queries_for_3_and_20_requests(
        self, personas: Any, client_for: Any
    ) -> None:
        for _ in range(3):
            request_received(patient=personas.patient)
        client = client_for(personas.patient)
        few = page_query_count(client, LIST)
        for _ in range(17):
            request_received(patient=personas.patient)
        assert page_query_count(client, LIST) == few


class TestOneRequest:
    def test_another_patients_request_is_404(self, personas: Any, client_for: Any) -> None:
        theirs = request_received(patient=personas.other_patient)
        client = client_for(personas.patient)
        assert client.get(detail(theirs)).status_code == 404
        withdraw = reverse("portal:records_withdraw", args=[theirs.pk])
        assert client.post(withdraw).status_code == 404
        theirs.refresh_from_db()
        assert theirs.is_open

    def test_viewing_is_audited(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        client_for(personas.patient).get(detail(req))
        event = AuditEvent.objects.get(action="records.request_viewed")
        assert (event.actor_id, event.patient_id) == (personas.patient.pk, personas.patient.pk)

    def test_the_patient_withdraws_their_request(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        client = client_for(personas.patient)
        assert "Withdraw my request" in text_of(client.get(detail(req)))
        response = client.post(reverse("portal:records_withdraw", args=[req.pk]), follow=True)
        req.refresh_from_db()
        assert req.state == RequestState.WITHDRAWN
        assert "You withdrew your request." in text_of(response)
        assert "Withdraw my request" not in text_of(response)


class TestLetters:
    def test_the_extension_notice_gives_the_reasons_and_the_new_date(
        self, personas: Any, client_for: Any
    ) -> None:
        with time_machine.travel(MONDAY, tick=False):
            req = request_received(patient=personas.patient)
            services.request_extend(
                actor=personas.records_clerk,
                request=req,
                reason="Our imaging archive is being moved to a new system.",
                new_due_day=datetime(2026, 4, 21).date(),
            )
            client = client_for(personas.patient)
            page = text_of(client.get(detail(req)))
            letter = letter_text(client, req)
        assert "Tuesday 21 April 2026" in page and "Extension notice" in page
        assert "Our imaging archive is being moved to a new system." in letter
        assert "We will complete your request by Tuesday 21 April 2026" in letter
        assert "until 1 April 2026" in letter  # the first due day, not the instant after it

    def test_the_denial_letter_states_basis_review_rights_and_complaints(
        self, personas: Any, client_for: Any
    ) -> None:
        req = request_received(patient=personas.patient)
        services.request_deny(
            actor=personas.records_clerk,
            request=req,
            basis="These notes were prepared for a lawsuit and are not part of your record.",
        )
        letter = letter_text(client_for(personas.patient), req)
        assert "These notes were prepared for a lawsuit" in letter
        assert "licensed health care professional" in letter
        assert "did not take part in the decision" in letter
        assert "To ask for a review, write to " + settings.RECORDS_PRIVACY_CONTACT in letter
        assert "Office for Civil Rights" in letter
        assert "https://www.hhs.gov/ocr/complaints" in letter and "1-800-368-1019" in letter

    def test_a_partial_denial_says_the_rest_is_coming(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        services.request_deny(
            actor=personas.records_clerk,
            request=req,
            basis="Psychotherapy notes are not part of the records we release.",
            partial=True,
        )
        letter = letter_text(client_for(personas.patient), req)
        assert "We will send you the rest." in letter
        assert "Why we denied part of your request" in letter
