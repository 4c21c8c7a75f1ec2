"""The clerk's request page as a sequence of steps: the next step first, rare actions
folded, each step returning to its own section, one honest build state, documents the
clerk titles and orders for the package, and an assignee as soon as someone works it."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from lxml import html
from pypdf import PdfReader

from audit.models import AuditEvent
from records import services
from records.building import package_build_run
from records.models import BuildState, RecordRequest, RequestState
from tests.records.factories import (
    built,
    pdf_pages,
    request_received,
    request_verified,
    with_document,
)

pytestmark = pytest.mark.django_db


def url(name: str, req: RecordRequest, **extra: Any) -> str:
    return reverse(f"records:{name}", kwargs={"request_id": req.pk, **extra})


def tree(response: Any) -> Any:
    return html.fromstring(response.content.decode())


def details(doc: Any, id_: str) -> Any:
    (element,) = doc.xpath(f'//details[@id="{id_}"]')
    return element


def text_of(response: Any) -> str:
    return " ".join(tree(response).text_content().split())


class TestSteps:
    def test_rare_actions_sit_in_closed_details(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        doc = tree(client_for(personas.records_clerk).get(url("request", req)))
        for name in ("extend", "deny", "withdraw"):
            folded = details(doc, name)
            assert folded.get("open") is None
            assert folded.xpath(f'.//form[@action="{url(name, req)}"]')

    def test_the_next_step_comes_first_and_links_to_its_section(
        self, personas: Any, client_for: Any
    ) -> None:
        req = request_verified(patient=personas.patient, clerk=personas.records_clerk)
        doc = tree(client_for(personas.records_clerk).get(url("request", req)))
        first = doc.xpath("//main//section")[0]
        assert first.get("id") == "status"
        (link,) = first.xpath('.//a[@class="button"]')
        assert (link.text_content(), link.get("href")) == ("Attach documents", "#documents")

    def test_after_the_documents_the_next_step_is_the_build(
        self, personas: Any, client_for: Any
    ) -> None:
        clerk = personas.records_clerk
        req = with_document(request_verified(patient=personas.patient, clerk=clerk), clerk)
        doc = tree(client_for(clerk).get(url("request", req)))
        (link,) = doc.xpath('//section[@id="status"]//a[@class="button"]')
        assert link.get("href") == "#package"

    def test_a_deny_without_confirmation_is_refused_and_nothing_is_lost(
        self, personas: Any, client_for: Any
    ) -> None:
        req = request_received(patient=personas.patient)
        response = client_for(personas.records_clerk).post(
            url("deny", req), {"basis": "Compiled for a lawsuit."}
        )
        assert response.status_code == 400
        req.refresh_from_db()
        assert req.state == RequestState.RECEIVED and not req.notices.exists()
        folded = details(tree(response), "deny")
        assert folded.get("open") is not None  # opened on its error
        assert "Tick the box to confirm" in folded.text_content()
        assert folded.xpath("string(.//textarea)").strip() == "Compiled for a lawsuit."

    def test_a_withdrawal_without_confirmation_is_refused(
        self, personas: Any, client_for: Any
    ) -> None:
        req = request_received(patient=personas.patient)
        response = client_for(personas.records_clerk).post(url("withdraw", req))
        assert response.status_code == 400
        req.refresh_from_db()
        assert req.is_open
        assert details(tree(response), "withdraw").get("open") is not None

    def test_an_extension_with_errors_opens_only_its_details(
        self, personas: Any, client_for: Any
    ) -> None:
        req = request_received(patient=personas.patient)
        response = client_for(personas.records_clerk).post(url("extend", req), {"reason": ""})
        doc = tree(response)
        assert details(doc, "extend").get("open") is not None
        assert details(doc, "deny").get("open") is None

    def test_a_closed_request_shows_no_actions(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        services.request_withdraw(actor=personas.patient, request=req)
        response = client_for(personas.records_clerk).get(url("request", req))
        assert not tree(response).xpath("//details[@id='deny']")
        assert "This request is closed" in text_of(response)


class TestAnchors:
    def test_each_step_returns_to_its_section(self, personas: Any, client_for: Any) -> None:
        clerk = personas.records_clerk
        client = client_for(clerk)
        req = request_received(patient=personas.patient)
        verify = client.post(url("verify", req), {"method": "portal_mfa"})
        upload = client.post(
            url("documents", req),
            {"documents": [SimpleUploadedFile("a.pdf", pdf_pages("Alpha"))]},
        )
        build = client.post(url("build", req))
        assign = client.post(url("assign", req), {"assignee": clerk.pk})
        base = url("request", req)
        assert verify["Location"] == f"{base}#identity"
        assert upload["Location"] == f"{base}#documents"
        assert build["Location"] == f"{base}#package"
        assert assign["Location"] == f"{base}#assigned"

    def test_the_sections_carry_those_ids(self, personas: Any, client_for: Any) -> None:
        req = request_received(patient=personas.patient)
        doc = tree(client_for(personas.records_clerk).get(url("request", req)))
        for id_ in ("status", "assigned", "identity", "documents", "package", "extend"):
            assert len(doc.xpath(f'//*[@id="{id_}"]')) == 1, id_

    def test_sending_returns_to_the_package_which_says_it_was_sent(
        self, personas: Any, client_for: Any
    ) -> None:
        req = built(personas)
        client = client_for(personas.records_clerk)
        response = client.post(url("fulfil", req))
        assert response["Location"].endswith("#package")
        package = tree(client.get(url("request", req))).xpath('//section[@id="package"]')[0]
        assert "Sent on" in package.text_content()


def build_states(response: Any) -> list[str]:
    return [s.text_content() for s in tree(response).xpath('//section[@id="package"]//strong')]


class TestBuildState:
    def test_queued_shows_one_state_with_progress(self, personas: Any, client_for: Any) -> None:
        clerk = personas.records_clerk
        req = with_document(request_verified(patient=personas.patient, clerk=clerk), clerk)
        services.package_build_queue(actor=clerk, request=req)
        response = client_for(clerk).get(url("request", req))
        assert build_states(response) == ["Waiting to build"]
        assert b"<progress" in response.content and b'http-equiv="refresh"' in response.content

    def test_built_shows_only_built(self, personas: Any, client_for: Any) -> None:
        req = built(personas)
        response = client_for(personas.records_clerk).get(url("request", req))
        assert build_states(response) == ["Built"]
        assert b"<progress" not in response.content and b"build-progress.js" not in response.content

    def test_a_failure_shows_its_reason(self, personas: Any, client_for: Any) -> None:
        clerk = personas.records_clerk
        req = with_document(request_verified(patient=personas.patient, clerk=clerk), clerk)
        RecordRequest.objects.filter(pk=req.pk).update(
            build_state=BuildState.FAILED, build_failure="PdfReadError"
        )
        response = client_for(clerk).get(url("request", req))
        assert build_states(response) == ["Build failed"]
        assert "One of the documents could not be read" in text_of(response)

    def test_a_build_done_at_once_is_not_announced_as_running(
        self,
        personas: Any,
        client_for: Any,
        settings: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        settings.CELERY_TASK_ALWAYS_EAGER = True
        clerk = personas.records_clerk
        req = with_document(request_verified(patient=personas.patient, clerk=clerk), clerk)
        client = client_for(clerk)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(url("build", req))
        response = client.get(url("request", req))
        assert build_states(response) == ["Built"]
        assert "being built" not in text_of(response).lower()


def document_pdf(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_pages(text), content_type="application/pdf")


class TestDocumentOrder:
    def setup_request(self, personas: Any, client: Any) -> RecordRequest:
        req = request_verified(patient=personas.patient, clerk=personas.records_clerk)
        client.post(
            url("documents", req),
            {
                "documents": [
                    document_pdf("a.pdf", "Alpha page"),
                    document_pdf("b.pdf", "Beta page"),
                ]
            },
        )
        return req

    def test_titles_and_order_shape_the_built_package(self, personas: Any, client_for: Any) -> None:
        clerk = personas.records_clerk
        client = client_for(clerk)
        req = self.setup_request(personas, client)
        _, beta = req.documents.order_by("position")
        client.post(url("document_rename", req, document_id=beta.pk), {"title": "Blood tests"})
        moved = client.post(url("document_move", req, document_id=beta.pk), {"direction": "up"})
        assert moved["Location"].endswith("#documents")
        client.post(url("build", req))
        assert package_build_run(request_id=str(req.pk)) == "built"
        req.refresh_from_db()
        assert req.package is not None
        reader = PdfReader(io.BytesIO(services.file_bytes(req.package)))
        outline = [item.title for item in reader.outline if not isinstance(item, list)]
        assert outline == ["Cover letter and index", "Blood tests", "a.pdf"]
        pages = [page.extract_text() for page in reader.pages]
        assert "Beta page" in pages[-2] and "Alpha page" in pages[-1]
        assert pages[0].index("Blood tests") < pages[0].index("a.pdf")  # the cover's index

    def test_the_page_lists_documents_in_the_new_order_with_their_titles(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.records_clerk)
        req = self.setup_request(personas, client)
        alpha, _ = req.documents.order_by("position")
        client.post(url("document_move", req, document_id=alpha.pk), {"direction": "down"})
        client.post(url("document_rename", req, document_id=alpha.pk), {"title": "Knee MRI"})
        items = tree(client.get(url("request", req))).xpath('//ol[@class="documents"]/li/strong')
        assert [item.text_content() for item in items] == ["b.pdf", "Knee MRI"]

    def test_a_change_is_audited_without_the_title(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.records_clerk)
        req = self.setup_request(personas, client)
        document = req.documents.first()
        assert document is not None
        client.post(url("document_rename", req, document_id=document.pk), {"title": "Knee MRI"})
        client.post(url("document_move", req, document_id=document.pk), {"direction": "down"})
        renamed = AuditEvent.objects.get(action="records.document_renamed")
        assert "Knee MRI" not in str(renamed.details)
        assert AuditEvent.objects.filter(action="records.document_moved").count() == 1

    def test_a_title_is_encrypted_at_rest(self, personas: Any) -> None:
        clerk = personas.records_clerk
        req = with_document(request_verified(patient=personas.patient, clerk=clerk), clerk)
        services.document_rename(actor=clerk, document=req.documents.get(), title="Knee MRI")
        with connection.cursor() as cursor:
            cursor.execute("SELECT text FROM records_documenttitle")
            (raw,) = cursor.fetchone()
        assert b"Knee MRI" not in bytes(raw)
        assert req.documents.get().title == "Knee MRI"

    def test_a_change_makes_a_built_package_stale(self, personas: Any, client_for: Any) -> None:
        req = built(personas)
        document = req.documents.get()
        client_for(personas.records_clerk).post(
            url("document_rename", req, document_id=document.pk), {"title": "Visit notes"}
        )
        req.refresh_from_db()
        assert req.build_state == BuildState.NONE

    def test_no_change_while_the_package_is_building(self, personas: Any, client_for: Any) -> None:
        clerk = personas.records_clerk
        req = with_document(request_verified(patient=personas.patient, clerk=clerk), clerk)
        services.package_build_queue(actor=clerk, request=req)
        document = req.documents.get()
        response = client_for(clerk).post(
            url("document_rename", req, document_id=document.pk), {"title": "Visit notes"}
        )
        assert response.status_code == 400 and document.title == ""

    def test_another_requests_document_is_404(self, personas: Any, client_for: Any) -> None:
        clerk = personas.records_clerk
        req = with_document(request_verified(patient=personas.patient, clerk=clerk), clerk)
        other = request_verified(patient=personas.other_patient, clerk=clerk)
        document = req.documents.get()
        response = client_for(clerk).post(
            url("document_move", other, document_id=document.pk), {"direction": "up"}
        )
        assert response.status_code == 404


class TestAssignment:
    def test_whoever_works_an_unassigned_request_becomes_its_assignee(
        self, personas: Any, client_for: Any
    ) -> None:
        clerk = personas.records_clerk
        req = request_received(patient=personas.patient)
        client = client_for(clerk)
        client.post(url("verify", req), {"method": "portal_mfa"})
        req.refresh_from_db()
        assert req.assigned_to == clerk
        assert "Assigned to: Rhea Vantongeren (you)" in text_of(client.get(url("request", req)))
        (event,) = AuditEvent.objects.filter(action="records.request_assigned")
        assert event.details == {"assignee_id": clerk.pk, "by_working": True}

    def test_building_assigns_too(self, personas: Any) -> None:
        clerk = personas.records_clerk
        req = with_document(request_verified(patient=personas.patient, clerk=clerk), clerk)
        RecordRequest.objects.filter(pk=req.pk).update(assigned_to=None)
        req.refresh_from_db()
        services.package_build_queue(actor=personas.privacy_officer, request=req)
        req.refresh_from_db()
        assert req.assigned_to == personas.privacy_officer

    def test_a_request_already_assigned_stays_with_its_assignee(self, personas: Any) -> None:
        clerk = personas.records_clerk
        req = request_verified(patient=personas.patient, clerk=clerk)
        with_document(req, personas.privacy_officer)
        req.refresh_from_db()
        assert req.assigned_to == clerk

    def test_a_patient_withdrawing_is_never_the_assignee(self, personas: Any) -> None:
        req = request_received(patient=personas.patient)
        services.request_withdraw(actor=personas.patient, request=req)
        req.refresh_from_db()
        assert req.assigned_to is None

    def test_another_clerk_takes_it_over(self, personas: Any, client_for: Any) -> None:
        req = request_verified(patient=personas.patient, clerk=personas.records_clerk)
        officer = personas.privacy_officer
        client = client_for(officer)
        assert "Take it over" in text_of(client.get(url("request", req)))
        client.post(url("assign", req), {"assignee": officer.pk})
        req.refresh_from_db()
        assert req.assigned_to == officer
