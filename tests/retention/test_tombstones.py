"""After a purge, staff and patient pages say what was removed, and when, instead of failing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from consent import services as consent_services
from consent.models import RevocationSource
from messaging.models import Message
from retention import services
from retention.rules import PeriodUnit, RecordKind
from tests.consent.factories import authorization_on_paper
from tests.messaging.factories import package_send
from tests.retention.factories import (
    DAY,
    message_with_file,
    purge,
    request_closed_with_documents,
    thread_of,
    years_later,
)

pytestmark = pytest.mark.django_db

BODY = "Please bring your medication list."
REMOVED = "under our rules for how long we keep records"


def short(personas: Any, kind: str) -> None:
    clock = services.policies_effective()[kind].clock_start
    services.policy_update(
        actor=personas.privacy_officer, kind=kind, clock_start=clock, amount=1, unit=PeriodUnit.DAYS
    )


@pytest.fixture
def purged(personas: Any) -> Message:
    message = message_with_file(personas)
    purge(years_later(10, days=1))
    return Message.objects.get(pk=message.pk)


def today() -> str:
    return f"Removed on {timezone.localdate():%-d %b %Y} {REMOVED}"


def page_of(client: Any, url: str) -> str:
    """The page's HTML; it must answer 200 (the 410 page also says "Removed ...")."""
    response = client.get(url)
    assert response.status_code == 200
    return str(response.content.decode())


class TestStaffViews:
    def test_the_thread_shows_the_message_removed_with_its_date(
        self, personas: Any, client_for: Any, purged: Message
    ) -> None:
        url = reverse("messaging:thread", args=[purged.thread_id])
        page = page_of(client_for(personas.clinician), url)
        assert today() in page and BODY not in page

    def test_a_removed_message_offers_no_recall(
        self, personas: Any, client_for: Any, purged: Message
    ) -> None:
        url = reverse("messaging:thread", args=[purged.thread_id])
        assert purged.opened_at is None  # a live message like it could still be recalled
        assert "Recall this message" not in page_of(client_for(personas.clinician), url)

    def test_the_inbox_lists_the_thread_as_removed(
        self, personas: Any, client_for: Any, purged: Message
    ) -> None:
        response = client_for(personas.clinician).get(reverse("messaging:inbox") + "?view=all")
        assert response.status_code == 200
        assert REMOVED in response.content.decode()

    def test_the_attachment_download_is_gone(
        self, personas: Any, client_for: Any, purged: Message
    ) -> None:
        url = reverse("messaging:attachment", args=[purged.attachments.get().pk])
        response = client_for(personas.clinician).get(url)
        assert response.status_code == 410
        assert REMOVED in response.content.decode()

    def test_a_reply_to_a_removed_thread_is_refused(
        self, personas: Any, client_for: Any, purged: Message
    ) -> None:
        url = reverse("messaging:thread_reply", args=[purged.thread_id])
        response = client_for(personas.clinician).post(
            url, {"body": "Following up", "send_key": str(uuid.uuid4())}, follow=True
        )
        assert "removed under the retention policy" in response.content.decode()
        assert Message.objects.filter(thread_id=purged.thread_id).count() == 1

    def test_the_record_request_shows_its_documents_removed(
        self, personas: Any, client_for: Any
    ) -> None:
        request = request_closed_with_documents(personas)
        purge(years_later(6, days=1))
        url = reverse("records:request", args=[request.pk])
        page = page_of(client_for(personas.records_clerk), url)
        assert REMOVED in page and "labs.pdf" not in page

    def test_the_third_party_package_list_shows_it_removed(
        self, personas: Any, client_for: Any
    ) -> None:
        authorization_on_paper(patient=personas.patient, recorded_by=personas.clinician)
        package = package_send(personas)
        short(personas, RecordKind.GUEST_PACKAGE)
        purge(package.expires_at + 2 * DAY)
        url = reverse("messaging:guest_packages", args=[personas.patient.pk])
        page = page_of(client_for(personas.clinician), url)
        assert REMOVED in page and "Thyroid" not in page
        assert "Recall" not in page

    def test_the_authorization_shows_its_scan_removed(self, personas: Any, client_for: Any) -> None:
        authorization = authorization_on_paper(
            patient=personas.patient, recorded_by=personas.clinician
        )
        consent_services.authorization_revoke(
            actor=personas.clinician, authorization=authorization, source=RevocationSource.WRITTEN
        )
        purge(years_later(6, days=1))
        client = client_for(personas.privacy_officer)
        page = page_of(client, reverse("consent:authorization", args=[authorization.pk]))
        assert REMOVED in page
        scan = client.get(reverse("consent:scan", args=[authorization.pk]))
        assert scan.status_code == 410


class TestPatientViews:
    def test_the_thread_shows_the_message_removed_with_its_date(
        self, personas: Any, client_for: Any, purged: Message
    ) -> None:
        url = reverse("portal:thread", args=[purged.thread_id])
        page = page_of(client_for(personas.patient), url)
        assert today() in page and BODY not in page

    def test_opening_a_removed_message_is_not_recorded_as_reading_it(
        self, personas: Any, client_for: Any, purged: Message
    ) -> None:
        client_for(personas.patient).get(reverse("portal:thread", args=[purged.thread_id]))
        assert Message.objects.get(pk=purged.pk).opened_at is None

    def test_the_inbox_lists_the_thread_as_removed(
        self, personas: Any, client_for: Any, purged: Message
    ) -> None:
        page = page_of(client_for(personas.patient), reverse("portal:inbox"))
        assert REMOVED in page

    def test_the_attachment_download_is_gone(
        self, personas: Any, client_for: Any, purged: Message
    ) -> None:
        url = reverse("portal:attachment", args=[purged.attachments.get().pk])
        assert client_for(personas.patient).get(url).status_code == 410

    def test_a_reply_to_a_removed_thread_is_refused(
        self, personas: Any, client_for: Any, purged: Message
    ) -> None:
        url = reverse("portal:reply", args=[purged.thread_id])
        response = client_for(personas.patient).post(
            url, {"body": "Thanks", "send_key": str(uuid.uuid4())}, follow=True
        )
        assert "removed under the retention policy" in response.content.decode()
        assert Message.objects.filter(thread_id=purged.thread_id).count() == 1

    def test_only_the_attachment_goes_under_a_shorter_attachment_policy(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_with_file(personas)
        short(personas, RecordKind.ATTACHMENT)
        purge(timezone.now() + 2 * DAY)
        text = page_of(
            client_for(personas.patient), reverse("portal:thread", args=[thread_of(message).pk])
        )
        assert BODY in text and REMOVED in text and "results.pdf" not in text
