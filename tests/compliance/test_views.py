"""The compliance screens, through the test client."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from compliance.models import AssociateAgreement, BusinessAssociate, PolicyDocument
from tests.compliance.factories import acknowledged_by_all, associate_added, policy_published
from tests.conftest import page_query_count
from tests.encryption.pdfs import PDF_BYTES

POLICIES = reverse("compliance:policies")
PUBLISH = reverse("compliance:policy_publish")
ASSOCIATES = reverse("compliance:associates")


def _everyone_acknowledges(personas: Any, document: PolicyDocument) -> None:
    acknowledged_by_all(
        document, personas.privacy_officer, personas.clinician, personas.records_clerk
    )


class TestPublish:
    def test_the_officer_publishes_a_new_version(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.privacy_officer)
        response = client.post(
            PUBLISH,
            {"kind": "email_messaging", "title": "E-mail policy", "text": "Use the portal."},
        )
        document = PolicyDocument.objects.get()
        assert response["Location"] == reverse("compliance:policy", args=[document.pk])
        assert (document.version, document.published_by) == (1, personas.privacy_officer)

    def test_a_new_version_starts_from_the_current_text(
        self, personas: Any, client_for: Any
    ) -> None:
        document = policy_published(personas.privacy_officer, text="Old rule one.")
        _everyone_acknowledges(personas, document)
        page = client_for(personas.privacy_officer).get(f"{PUBLISH}?kind=email_messaging")
        assert "Old rule one." in page.content.decode()

    def test_an_empty_text_is_refused(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.privacy_officer)
        response = client.post(PUBLISH, {"kind": "email_messaging", "title": "E-mail policy"})
        assert response.status_code == 400
        assert not PolicyDocument.objects.exists()


class TestPolicies:
    def test_the_list_counts_who_acknowledged_the_current_version(
        self, personas: Any, client_for: Any
    ) -> None:
        document = policy_published(personas.privacy_officer)
        acknowledged_by_all(document, personas.privacy_officer, personas.clinician)
        page = client_for(personas.privacy_officer).get(POLICIES).content.decode()
        assert "2 of 3" in page
        assert "<strong>1</strong> of 3 active staff members has not acknowledged" in page

    def test_the_detail_names_who_has_not_acknowledged(
        self, personas: Any, client_for: Any
    ) -> None:
        document = policy_published(personas.privacy_officer)
        acknowledged_by_all(document, personas.privacy_officer, personas.clinician)
        client = client_for(personas.privacy_officer)
        page = client.get(reverse("compliance:policy", args=[document.pk])).content.decode()
        row = page.split(personas.records_clerk.full_name, 1)[1].split("</tr>", 1)[0]
        assert "Not yet" in row
        assert AuditEvent.objects.filter(action="compliance.policy_viewed").count() == 1

    def test_the_list_costs_the_same_queries_with_more_versions(
        self, personas: Any, client_for: Any
    ) -> None:
        _everyone_acknowledges(personas, policy_published(personas.privacy_officer))
        client = client_for(personas.privacy_officer)
        few = page_query_count(client, POLICIES)
        for kind in ("privacy_security", "acceptable_use", "email_messaging"):
            _everyone_acknowledges(personas, policy_published(personas.privacy_officer, kind=kind))
        assert page_query_count(client, POLICIES) == few


class TestAcknowledgePage:
    def test_opening_the_policy_is_audited(self, personas: Any, client_for: Any) -> None:
        document = policy_published(personas.privacy_officer)
        client_for(personas.clinician).get(reverse("compliance:acknowledge"))
        event = AuditEvent.objects.get(action="compliance.policy_read")
        assert (event.actor_id, event.target_id) == (personas.clinician.pk, str(document.pk))

    def test_with_nothing_pending_it_lists_what_was_acknowledged(
        self, personas: Any, client_for: Any
    ) -> None:
        document = policy_published(personas.privacy_officer, title="Messaging rules")
        acknowledged_by_all(document, personas.clinician)
        page = client_for(personas.clinician).get(reverse("compliance:acknowledge"))
        assert "You have acknowledged every current policy." in page.content.decode()
        assert "Messaging rules" in page.content.decode()


def _agreement_post(**extra: Any) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "name": "Northwind Backup Ltd",
        "service": "Encrypted off-site backups",
        "signed_on": (today - timedelta(days=10)).isoformat(),
        "renewal_on": (today + timedelta(days=355)).isoformat(),
        "scan": SimpleUploadedFile("baa.pdf", PDF_BYTES, content_type="application/pdf"),
        **extra,
    }


class TestAssociates:
    def test_the_officer_adds_one_with_its_scan(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.privacy_officer)
        response = client.post(reverse("compliance:associate_add"), _agreement_post())
        associate = BusinessAssociate.objects.get()
        assert response["Location"] == reverse("compliance:associate", args=[associate.pk])
        assert associate.agreements.get().scan.original_name == "baa.pdf"
        assert "Northwind Backup Ltd" in client.get(ASSOCIATES).content.decode()

    def test_a_scan_that_is_not_a_pdf_or_image_is_refused(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.privacy_officer)
        text = SimpleUploadedFile("baa.txt", b"just words", content_type="text/plain")
        response = client.post(reverse("compliance:associate_add"), _agreement_post(scan=text))
        assert response.status_code == 400
        assert "is not a PDF, PNG or JPEG scan" in response.content.decode()
        assert not BusinessAssociate.objects.exists()

    def test_a_missing_scan_is_refused(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.privacy_officer)
        post = _agreement_post()
        del post["scan"]
        response = client.post(reverse("compliance:associate_add"), post)
        assert response.status_code == 400
        assert "Attach one file: the scan of the signed agreement." in response.content.decode()

    def test_the_download_is_the_scan_and_is_audited(self, personas: Any, client_for: Any) -> None:
        associate = associate_added(personas.privacy_officer)
        agreement = associate.agreements.get()
        url = reverse("compliance:agreement_scan", args=[associate.pk, agreement.pk])
        response = client_for(personas.privacy_officer).get(url)
        assert b"".join(response.streaming_content) == PDF_BYTES
        event = AuditEvent.objects.get(action="compliance.agreement_downloaded")
        assert event.details == {"agreement_id": agreement.pk}

    def test_a_renewal_is_recorded(self, personas: Any, client_for: Any) -> None:
        associate = associate_added(personas.privacy_officer)
        client = client_for(personas.privacy_officer)
        post = _agreement_post()
        del post["name"], post["service"]
        response = client.post(reverse("compliance:associate_renew", args=[associate.pk]), post)
        assert response.status_code == 302
        assert AssociateAgreement.objects.filter(associate=associate).count() == 2

    def test_an_agreement_due_within_30_days_is_flagged(
        self, personas: Any, client_for: Any
    ) -> None:
        associate_added(personas.privacy_officer, renewal_on=timezone.localdate() + timedelta(20))
        page = client_for(personas.privacy_officer).get(ASSOCIATES).content.decode()
        assert "(within 30 days)" in page

    def test_ending_needs_the_box_ticked(self, personas: Any, client_for: Any) -> None:
        associate = associate_added(personas.privacy_officer)
        client = client_for(personas.privacy_officer)
        url = reverse("compliance:associate_end", args=[associate.pk])
        today = timezone.localdate().isoformat()
        assert client.post(url, {"ended_on": today}).status_code == 400
        assert client.post(url, {"ended_on": today, "confirm": "on"}).status_code == 302
        associate.refresh_from_db()
        assert associate.ended_on == timezone.localdate()
