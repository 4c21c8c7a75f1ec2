"""The records clerk's screens through HTTP: the queue and its chart, recording a request,
and every step on one request through its own URL."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader, PdfWriter

from audit.models import AuditEvent
from messaging.models import GuestPackage, Message
from records import services
from records.alerts import alert_email, deadline_alerts_raise
from records.models import (
    ArrivedBy,
    BuildState,
    DeliverTo,
    RecordRequest,
    RequestAlert,
    RequestState,
    VerificationMethod,
)
from tests.conftest import body_text, page_query_count
from tests.messaging.factories import PNG_BYTES
from tests.records.factories import built, request_received, request_verified, with_document

pytestmark = pytest.mark.django_db

QUEUE = reverse("records:queue")
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday: weeks start on Mondays


def url(name: str, req: RecordRequest, **extra: Any) -> str:
    return reverse(f"records:{name}", kwargs={"request_id": req.pk, **extra})


def actions(name: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=f"records.{name}").order_by("id"))


def one_page_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page(response: Any) -> str:
    return response.content.decode()


class TestQueue:
    def test_it_lists_open_requests_soonest_due_first(self, personas: Any, client_for: Any) -> None:
        later = request_received(patient=personas.patient)
        sooner = request_received(
            patient=personas.other_patient, received_at=timezone.now() - timedelta(days=10)
        )
        text = page(client_for(personas.records_clerk).get(QUEUE))
        assert text.index(url("request", sooner)) < text.index(url("request", later))
        assert "Ulrich Beauregard" in text and "Penelope Quartermaine" in text

    def test_each_row_shows_its_received_day_state_and_assignee(
        self, personas: Any, client_for: Any
    ) -> None:
        with time_machine.travel(MONDAY, tick=False):
            req = request_received(patient=personas.patient)
            services.request_assign(
                actor=personas.records_clerk, request=req, assignee=personas.records_clerk
            )
            text = page(client_for(personas.records_clerk).get(QUEUE))
        req.refresh_from_db()
        received = timezone.localtime(req.received_at)
        assert f'<time datetime="{received.isoformat()}">2 Mar 2026</time>' in text
        assert f"<td>{req.get_state_display()}</td>" in text
        assert f"<td>{personas.records_clerk.full_name}</td>" in text

    def test_it_shows_days_left_and_the_due_soon_and_overdue_counts(
        self, personas: Any, client_for: Any
    ) -> None:
        with time_machine.travel(MONDAY - timedelta(days=33), tick=False):
            request_received(patient=personas.patient)  # due 3 days ago
        with time_machine.travel(MONDAY - timedelta(days=27), tick=False):
            request_received(patient=personas.other_patient)  # due in 3 days
        with time_machine.travel(MONDAY, tick=False):
            request_received(patient=personas.patient)  # due in 30 days
            text = page(client_for(personas.records_clerk).get(QUEUE))
        assert ">3 days overdue<" in text
        assert ">3 days left<" in text and "30 days left" in text
        assert "1 due within 7 days" in text and "1 overdue" in text

    def test_the_due_day_reads_due_today_on_the_last_day(
        self, personas: Any, client_for: Any
    ) -> None:
        with time_machine.travel(MONDAY - timedelta(days=30), tick=False):
            request_received(patient=personas.patient)
        with time_machine.travel(MONDAY + timedelta(hours=13), tick=False):
            assert "Due today" in page(client_for(personas.records_clerk).get(QUEUE))

    def test_the_overdue_view_shows_only_overdue_requests(
        self, personas: Any, client_for: Any
    ) -> None:
        late = request_received(
            patient=personas.patient, received_at=timezone.now() - timedelta(days=40)
        )
        fresh = request_received(patient=personas.other_patient)
        text = page(client_for(personas.records_clerk).get(QUEUE, {"view": "overdue"}))
        assert url("request", late) in text and url("request", fresh) not in text

    def test_it_filters_by_state_and_by_assignee(self, personas: Any, client_for: Any) -> None:
        clerk = personas.records_clerk
        # Verified by the privacy officer, who becomes its assignee by working it.
        verified = request_verified(patient=personas.patient, clerk=personas.privacy_officer)
        waiting = request_received(patient=personas.other_patient)
        services.request_assign(actor=clerk, request=waiting, assignee=clerk)
        client = client_for(clerk)
        by_state = page(client.get(QUEUE, {"state": RequestState.VERIFIED}))
        assert url("request", verified) in by_state and url("request", waiting) not in by_state
        mine = page(client.get(QUEUE, {"assignee": "me"}))
        assert url("request", waiting) in mine and url("request", verified) not in mine

    def test_closed_requests_leave_the_open_view(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        services.request_withdraw(actor=personas.patient, request=req)
        client = client_for(personas.records_clerk)
        assert url("request", req) not in page(client.get(QUEUE))
        assert url("request", req) in page(client.get(QUEUE, {"view": "closed"}))

    def test_unknown_filter_values_are_ignored(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        response = client_for(personas.records_clerk).get(
            QUEUE, {"view": "<x>", "state": "nope", "assignee": "x' or 1=1"}
        )
        assert response.status_code == 200 and url("request", req) in page(response)

    def test_it_pages_by_25(self, personas: Any, client_for: Any) -> None:
        for _ in range(26):
            request_received(patient=personas.patient)
        text = page(client_for(personas.records_clerk).get(QUEUE))
        assert text.count("Penelope Quartermaine</a>") == 25
        assert "Page 1 of 2" in text

    def test_its_query_count_does_not_grow_with_the_requests(
        self, personas: Any, client_for: Any
    ) -> None:
        clerk = personas.records_clerk
        for _ in range(3):
            req = request_received(patient=personas.patient)
            services.request_assign(actor=clerk, request=req, assignee=clerk)
        client = client_for(clerk)
        few = page_query_count(client, QUEUE)
        for i in range(27):
            req = request_received(patient=personas.other_patient if i % 2 else personas.patient)
            services.request_assign(actor=clerk, request=req, assignee=personas.privacy_officer)
        assert page_query_count(client, QUEUE) == few

    def test_listing_is_audited_with_counts_only(self, personas: Any, client_for: Any) -> None:
        request_received(patient=personas.patient)
        client_for(personas.records_clerk).get(QUEUE, {"view": "all"})
        (event,) = actions("queue_listed")
        assert event.details == {"view": "all", "shown": 1, "total": 1}
        assert event.patient_id is None

    def test_clinicians_and_patients_get_404(self, personas: Any, client_for: Any) -> None:
        for user in (personas.clinician, personas.patient):
            assert client_for(user).get(QUEUE).status_code == 404

    def test_the_privacy_officer_sees_the_queue(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        assert url("request", req) in page(client_for(personas.privacy_officer).get(QUEUE))


class TestAlerts:
    def test_unread_alerts_show_at_the_top_until_marked_read(
        self, personas: Any, client_for: Any
    ) -> None:
        clerk = personas.records_clerk
        with time_machine.travel(MONDAY - timedelta(days=28), tick=False):
            req = request_received(patient=personas.patient)
            services.request_assign(actor=clerk, request=req, assignee=clerk)
        with time_machine.travel(MONDAY, tick=False):
            deadline_alerts_raise()
            client = client_for(clerk)
            text = page(client.get(QUEUE))
            assert "Deadline alerts" in text and "Due in 3 days" in text
            response = client.post(reverse("records:alerts_read"), follow=True)
        assert "Deadline alerts" not in page(response)
        assert RequestAlert.objects.get().read_at is not None

    def test_marking_read_touches_only_my_alerts(self, personas: Any, client_for: Any) -> None:
        with time_machine.travel(MONDAY - timedelta(days=31), tick=False):
            request_received(patient=personas.patient)
        with time_machine.travel(MONDAY, tick=False):
            deadline_alerts_raise()  # overdue: the privacy officer's
        client_for(personas.records_clerk).post(reverse("records:alerts_read"))
        assert RequestAlert.objects.get().read_at is None

    def test_the_alert_email_names_no_patient_and_links_to_the_request(
        self, personas: Any, smtp_server: Any
    ) -> None:
        with time_machine.travel(MONDAY - timedelta(days=33), tick=False):
            req = request_received(patient=personas.patient)
        with time_machine.travel(MONDAY, tick=False):
            deadline_alerts_raise()
            assert alert_email(alert_id=RequestAlert.objects.get().pk)
        (mail,) = smtp_server.messages
        text = body_text(mail)
        subject = str(mail["Subject"])
        assert "A record request is overdue" in subject
        assert "it was due on Friday 27 February 2026" in text
        assert settings.PORTAL_BASE_URL + url("request", req) in text
        for secret in ("Penelope", "Quartermaine", "MRN-555001", "Laboratory", "knee"):
            assert secret not in text and secret not in subject


class TestChart:
    def test_it_counts_received_fulfilled_and_on_time_per_week(
        self, personas: Any, client_for: Any
    ) -> None:
        clerk = personas.records_clerk
        # Week of 9 Feb: two received. One is fulfilled the week of 23 Feb (on time); the
        # other the week of 16 Mar, after its due day of 12 Mar (late).
        with time_machine.travel(datetime(2026, 2, 10, 9, tzinfo=UTC), tick=False):
            on_time = built(personas)
            late = built(personas)
        with time_machine.travel(datetime(2026, 2, 24, 9, tzinfo=UTC), tick=False):
            services.request_fulfil(actor=clerk, request=on_time)
        with time_machine.travel(datetime(2026, 3, 17, 9, tzinfo=UTC), tick=False):
            services.request_fulfil(actor=clerk, request=late)
            request_received(patient=personas.patient)  # week of 16 Mar: one received
            response = client_for(clerk).get(QUEUE)
        weeks = {b["week"].starts.isoformat(): b["week"] for b in response.context["chart"]["bars"]}
        assert (weeks["2026-02-09"].received, weeks["2026-02-09"].fulfilled) == (2, 0)
        assert (weeks["2026-02-23"].fulfilled, weeks["2026-02-23"].on_time) == (1, 1)
        assert (weeks["2026-03-16"].received, weeks["2026-03-16"].fulfilled) == (1, 1)
        assert weeks["2026-03-16"].on_time == 0
        assert "3 received, 2 fulfilled, 50% of them on time." in page(response)

    def test_the_chart_has_a_text_alternative_and_a_data_table(
        self, personas: Any, client_for: Any
    ) -> None:
        text = page(client_for(personas.records_clerk).get(QUEUE))
        assert 'role="img"' in text and 'aria-labelledby="chart-svg-title chart-summary"' in text
        assert '<th scope="col">On time</th>' in text
        assert text.count('<th scope="row">') == 12


class TestRecordingARequest:
    def test_the_patient_search_is_a_post_and_links_to_the_form(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.records_clerk)
        text = page(client.post(reverse("records:new"), {"q": "MRN-555002"}))
        assert reverse("records:new_for", args=[personas.other_patient.pk]) in text
        assert "Penelope" not in page(client.get(reverse("records:new"), {"q": "MRN-555001"}))

    def test_a_letter_is_recorded_with_its_received_time_and_due_date(
        self, personas: Any, client_for: Any
    ) -> None:
        with time_machine.travel(MONDAY, tick=False):
            response = client_for(personas.records_clerk).post(
                reverse("records:new_for", args=[personas.patient.pk]),
                {
                    "arrived_by": ArrivedBy.LETTER,
                    "received_at": "2026-02-27T16:30",
                    "categories": ["lab_results"],
                    "deliver_to": DeliverTo.PAPER,
                    "asker": "self",
                },
                follow=True,
            )
        req = RecordRequest.objects.get()
        assert (req.arrived_by, req.recorded_by) == (ArrivedBy.LETTER, personas.records_clerk)
        assert "It is due on Sunday 29 March 2026." in page(response)
        assert actions("request_received")[0].details["arrived_by"] == "letter"

    def test_a_received_time_in_the_future_is_refused(self, personas: Any, client_for: Any) -> None:
        tomorrow = timezone.localtime() + timedelta(days=1)
        response = client_for(personas.records_clerk).post(
            reverse("records:new_for", args=[personas.patient.pk]),
            {
                "arrived_by": ArrivedBy.FAX,
                "received_at": tomorrow.strftime("%Y-%m-%dT%H:%M"),
                "categories": ["lab_results"],
                "deliver_to": DeliverTo.PAPER,
                "asker": "self",
            },
        )
        assert response.status_code == 400
        assert "cannot be in the future" in page(response)
        assert not RecordRequest.objects.exists()

    def test_a_representative_must_state_their_authority(
        self, personas: Any, client_for: Any
    ) -> None:
        response = client_for(personas.records_clerk).post(
            reverse("records:new_for", args=[personas.patient.pk]),
            {
                "arrived_by": ArrivedBy.PHONE,
                "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                "categories": ["lab_results"],
                "deliver_to": DeliverTo.PORTAL,
                "asker": "representative",
                "representative_name": "Quentin Quartermaine",
            },
        )
        assert response.status_code == 400
        assert "Tell us why the representative may act for the patient." in page(response)


class TestRequestPage:
    def test_it_shows_who_what_how_and_the_clock(self, personas: Any, client_for: Any) -> None:
        with time_machine.travel(MONDAY, tick=False):
            req = request_received(patient=personas.patient)
            text = page(client_for(personas.records_clerk).get(url("request", req)))
        assert "Penelope Quartermaine" in text and "MRN-555001" in text
        assert "Laboratory results, Visit and progress notes" in text
        assert "Everything from my knee surgery" in text
        assert "Wednesday 1 April 2026" in text and "(30 days left)" in text

    def test_viewing_is_audited(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        client_for(personas.privacy_officer).get(url("request", req))
        (event,) = actions("request_viewed")
        assert (event.target_id, event.patient_id) == (str(req.pk), personas.patient.pk)

    def test_a_clinician_gets_404(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        assert client_for(personas.clinician).get(url("request", req)).status_code == 404

    def test_an_unknown_id_is_404(self, personas: Any, client_for: Any) -> None:
        missing = reverse("records:request", args=["00000000-0000-0000-0000-000000000000"])
        assert client_for(personas.records_clerk).get(missing).status_code == 404


class TestVerify:
    def test_it_records_who_how_and_when(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        response = client_for(personas.records_clerk).post(
            url("verify", req),
            {"method": VerificationMethod.PORTAL_MFA, "note": "Signed in with TOTP"},
            follow=True,
        )
        req.refresh_from_db()
        assert (req.state, req.verified_by) == (RequestState.VERIFIED, personas.records_clerk)
        assert "Verified by Rhea Vantongeren" in page(response)
        assert actions("request_verified")[0].details == {"method": "portal_mfa"}

    def test_a_representative_needs_their_documents_checked(
        self, personas: Any, client_for: Any
    ) -> None:
        req = request_received(
            patient=personas.patient,
            representative_name="Quentin Q",
            representative_authority="Health care power of attorney",
        )
        response = client_for(personas.records_clerk).post(
            url("verify", req), {"method": VerificationMethod.PORTAL_MFA, "note": "kept"}
        )
        assert response.status_code == 400
        assert "45 CFR 164.514(h)(1)" in page(response)
        assert 'value="kept"' in page(response)  # nothing typed is lost
        req.refresh_from_db()
        assert req.verified_at is None


class TestAssign:
    def test_a_clerk_takes_a_request(self, personas: Any, client_for: Any) -> None:
        clerk = personas.records_clerk
        req = request_received(patient=personas.patient)
        response = client_for(clerk).post(url("assign", req), {"assignee": clerk.pk}, follow=True)
        req.refresh_from_db()
        assert req.assigned_to == clerk and "Assigned to you." in page(response)
        assert actions("request_assigned")[0].details == {"assignee_id": clerk.pk}

    def test_a_clinician_cannot_be_chosen(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        response = client_for(personas.records_clerk).post(
            url("assign", req), {"assignee": personas.clinician.pk}
        )
        assert response.status_code == 400
        req.refresh_from_db()
        assert req.assigned_to is None


class TestFee:
    def test_an_estimate_is_recorded_for_a_paper_copy(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient, deliver_to=DeliverTo.PAPER)
        response = client_for(personas.records_clerk).post(
            url("fee", req),
            {"amount": "12.50", "basis": "Copying labour and postage"},
            follow=True,
        )
        req.refresh_from_db()
        assert req.fee_estimate_cents == 1250 and "$12.50" in page(response)
        assert actions("fee_estimated")[0].details == {"cents": 1250}

    def test_a_fee_for_a_portal_copy_is_refused_with_the_rule(
        self, personas: Any, client_for: Any
    ) -> None:
        req = request_received(patient=personas.patient)
        response = client_for(personas.records_clerk).post(
            url("fee", req), {"amount": "5.00", "basis": "Labour"}
        )
        assert response.status_code == 400
        assert "no fee (164.524(c)(4))" in page(response)
        req.refresh_from_db()
        assert req.fee_estimate_cents is None


class TestExtend:
    def post(self, client: Any, req: RecordRequest, days: int = 20) -> Any:
        new_day = timezone.localdate() + timedelta(days=30 + days)
        return client.post(
            url("extend", req),
            {"reason": "The imaging archive is being moved", "new_due_day": new_day.isoformat()},
            follow=True,
        )

    def test_it_sends_the_notice_and_moves_the_due_date(
        self, personas: Any, client_for: Any
    ) -> None:
        with time_machine.travel(MONDAY, tick=False):
            req = request_received(patient=personas.patient)
            response = self.post(client_for(personas.records_clerk), req)
        req.refresh_from_db()
        assert req.extended_at is not None
        assert "Now due on 21 April 2026" in page(response)
        assert req.notices.get().message_id is not None
        assert len(actions("request_extended")) == 1

    def test_a_second_extension_is_refused_with_the_rule_named(
        self, personas: Any, client_for: Any
    ) -> None:
        req = request_received(patient=personas.patient)
        client = client_for(personas.records_clerk)
        self.post(client, req)
        response = self.post(client, req, days=25)
        assert response.status_code == 400
        assert "extended only once (45 CFR 164.524(b)(2)(ii))" in page(response)
        assert req.notices.count() == 1
        assert actions("request_refused")[-1].details == {"reason": "second_extension"}

    def test_an_extension_after_the_due_date_is_refused(
        self, personas: Any, client_for: Any
    ) -> None:
        with time_machine.travel(MONDAY - timedelta(days=31), tick=False):
            req = request_received(patient=personas.patient)
        with time_machine.travel(MONDAY, tick=False):
            response = self.post(client_for(personas.records_clerk), req, days=-5)
        assert response.status_code == 400
        assert "The due date has passed" in page(response)
        assert not req.notices.exists()

    def test_more_than_30_days_is_refused(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        response = self.post(client_for(personas.records_clerk), req, days=31)
        assert response.status_code == 400
        assert "at most 30 days" in page(response)


class TestDeny:
    def test_a_denial_closes_the_request_and_sends_the_letter(
        self, personas: Any, client_for: Any
    ) -> None:
        req = request_received(patient=personas.patient)
        response = client_for(personas.records_clerk).post(
            url("deny", req),
            {"basis": "The records were compiled for a lawsuit.", "confirm": "on"},
            follow=True,
        )
        req.refresh_from_db()
        assert req.state == RequestState.DENIED
        assert "the letter was sent to the patient" in page(response)
        assert Message.objects.filter(pk=str(req.notices.get().message_id)).exists()
        assert actions("request_denied")[0].details == {"partial": False}

    def test_a_partial_denial_keeps_the_request_open(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        client_for(personas.records_clerk).post(
            url("deny", req),
            {"basis": "Psychotherapy notes are excluded.", "partial": "on", "confirm": "on"},
        )
        req.refresh_from_db()
        assert req.state == RequestState.RECEIVED and req.denial_basis


class TestWithdraw:
    def test_the_clerk_records_a_withdrawal(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        client_for(personas.records_clerk).post(url("withdraw", req), {"confirm": "on"})
        req.refresh_from_db()
        assert req.state == RequestState.WITHDRAWN and req.closed_by == personas.records_clerk
        assert len(actions("request_withdrawn")) == 1

    def test_a_closed_request_cannot_be_withdrawn(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        client = client_for(personas.records_clerk)
        client.post(url("withdraw", req), {"confirm": "on"})
        response = client.post(url("withdraw", req), {"confirm": "on"})
        assert response.status_code == 400 and "already withdrawn" in page(response)


class TestDocuments:
    def upload(self, client: Any, req: RecordRequest, *files: tuple[str, bytes]) -> Any:
        return client.post(
            url("documents", req),
            {"documents": [SimpleUploadedFile(name, data) for name, data in files]},
            follow=True,
        )

    def test_verification_comes_before_documents(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        client = client_for(personas.records_clerk)
        assert "Verify the requester" in page(client.get(url("request", req)))
        response = self.upload(client, req, ("notes.pdf", one_page_pdf()))
        assert response.status_code == 400
        assert "Verify the requester&#x27;s identity and authority first" in page(response)
        assert not req.documents.exists()

    def test_several_files_are_added_in_order(self, personas: Any, client_for: Any) -> None:
        req = request_verified(patient=personas.patient, clerk=personas.records_clerk)
        png = PNG_BYTES
        response = self.upload(
            client_for(personas.records_clerk), req, ("a.pdf", one_page_pdf()), ("b.png", png)
        )
        req.refresh_from_db()
        assert req.state == RequestState.IN_PROGRESS
        assert [d.file.original_name for d in req.documents.all()] == ["a.pdf", "b.png"]
        assert "2 documents added." in page(response)
        assert actions("document_added")[0].details == {"count": 2}

    def test_a_text_file_is_refused(self, personas: Any, client_for: Any) -> None:
        req = request_verified(patient=personas.patient, clerk=personas.records_clerk)
        response = self.upload(client_for(personas.records_clerk), req, ("n.txt", b"notes\n"))
        assert response.status_code == 400 and "is not a PDF, PNG or JPEG" in page(response)
        assert not req.documents.exists()

    def test_a_document_is_removed(self, personas: Any, client_for: Any) -> None:
        clerk = personas.records_clerk
        req = with_document(request_verified(patient=personas.patient, clerk=clerk), clerk)
        document = req.documents.get()
        client_for(clerk).post(url("document_remove", req, document_id=document.pk))
        assert not req.documents.exists()
        assert len(actions("document_removed")) == 1

    def test_another_requests_document_is_404(self, personas: Any, client_for: Any) -> None:
        clerk = personas.records_clerk
        req = with_document(request_verified(patient=personas.patient, clerk=clerk), clerk)
        other = request_received(patient=personas.other_patient)
        document = req.documents.get()
        response = client_for(clerk).post(url("document_remove", other, document_id=document.pk))
        assert response.status_code == 404 and req.documents.exists()


class TestBuild:
    def test_queueing_shows_progress_and_the_status_json(
        self, personas: Any, client_for: Any
    ) -> None:
        clerk = personas.records_clerk
        req = with_document(request_verified(patient=personas.patient, clerk=clerk), clerk)
        client = client_for(clerk)
        text = page(client.post(url("build", req), follow=True))
        assert "<progress" in text and "build-progress.js" in text and "Refresh" in text
        assert json.loads(client.get(url("build_status", req)).content) == {
            "state": "queued",
            "done": 0,
            "total": 1,
        }
        assert actions("package_build_queued")[0].details == {"documents": 1}

    def test_building_without_documents_is_refused(self, personas: Any, client_for: Any) -> None:
        req = request_verified(patient=personas.patient, clerk=personas.records_clerk)
        response = client_for(personas.records_clerk).post(url("build", req))
        assert response.status_code == 400 and "Add documents first." in page(response)

    def test_a_built_package_downloads_as_a_signed_pdf(
        self, personas: Any, client_for: Any
    ) -> None:
        req = built(personas)
        client = client_for(personas.records_clerk)
        status = json.loads(client.get(url("build_status", req)).content)
        assert status["state"] == BuildState.BUILT
        response = client.get(url("package", req))
        data = b"".join(response.streaming_content)
        assert response["Content-Type"] == "application/pdf"
        assert len(PdfReader(io.BytesIO(data)).pages) == req.package_pages
        assert b"/ByteRange" in data  # signed (tests/records/test_signing.py verifies it)
        assert actions("package_downloaded")[0].target_id == str(req.pk)

    def test_nothing_to_download_before_the_build(self, personas: Any, client_for: Any) -> None:
        req = request_verified(patient=personas.patient, clerk=personas.records_clerk)
        assert client_for(personas.records_clerk).get(url("package", req)).status_code == 404


class TestFulfil:
    def test_a_portal_copy_arrives_as_a_secure_message(
        self, personas: Any, client_for: Any
    ) -> None:
        req = built(personas)
        response = client_for(personas.records_clerk).post(url("fulfil", req), follow=True)
        req.refresh_from_db()
        assert req.state == RequestState.FULFILLED
        assert "the request is fulfilled (on time)" in page(response)
        message = Message.objects.get(pk=str(req.delivered_message_id))
        assert message.thread.patient == personas.patient
        assert actions("request_fulfilled")[0].details["on_time"] is True

    def test_a_third_party_copy_without_authorization_sends_nothing(
        self, personas: Any, client_for: Any
    ) -> None:
        req = built(
            personas,
            deliver_to=DeliverTo.THIRD_PARTY,
            third_party_name="Dr. Ana Rivera",
            third_party_email="dr.rivera@northside-clinic.test",
        )
        response = client_for(personas.records_clerk).post(url("fulfil", req))
        assert response.status_code == 400
        assert "Not sent: the disclosure check said no." in page(response)
        assert "<li>" in page(response).split("Not sent")[1]  # the decision's reasons
        assert not GuestPackage.objects.exists()
        req.refresh_from_db()
        assert req.is_open

    def test_a_paper_copy_needs_printing_first(self, personas: Any, client_for: Any) -> None:
        req = built(personas, deliver_to=DeliverTo.PAPER)
        client = client_for(personas.records_clerk)
        response = client.post(url("fulfil", req))
        assert response.status_code == 400 and "Print the package first" in page(response)
        client.post(url("fulfil", req), {"printed": "on"})
        req.refresh_from_db()
        assert req.state == RequestState.FULFILLED and req.delivered_message_id is None

    def test_an_unbuilt_request_cannot_be_sent(self, personas: Any, client_for: Any) -> None:
        req = request_verified(patient=personas.patient, clerk=personas.records_clerk)
        response = client_for(personas.records_clerk).post(url("fulfil", req))
        assert response.status_code == 400
        assert "Build the package before sending it." in page(response)
