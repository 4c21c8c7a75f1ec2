"""After a purge, the guest's pickup link, a record package's download and the patient's
record pages answer as ended or removed, never with a server error."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from messaging.guests import REFUSALS
from records import services as records_services
from retention import services
from retention.rules import ClockStart, PeriodUnit, RecordKind
from tests.consent.factories import authorization_signed
from tests.messaging.factories import package_sent_with_link
from tests.records.factories import built
from tests.retention.factories import DAY, purge, request_closed_with_documents, years_later

pytestmark = pytest.mark.django_db

REMOVED = "under our rules for how long we keep records"


class TestGuestPickup:
    def test_a_link_to_a_removed_package_answers_like_an_expired_one(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        authorization_signed(patient=personas.patient)
        token = package_sent_with_link(personas, smtp_server, django_capture_on_commit_callbacks)
        services.policy_update(
            actor=personas.privacy_officer,
            kind=RecordKind.GUEST_PACKAGE,
            clock_start=ClockStart.SENT,
            amount=1,
            unit=PeriodUnit.DAYS,
        )
        purge(timezone.now() + 2 * DAY)  # removed while the package itself is still open
        response = Client().get(reverse("portal:guest_open", args=[token]))
        assert response.status_code == 410
        assert str(REFUSALS["expired"]) in response.content.decode()


class TestRecordPackage:
    def test_the_download_of_a_removed_package_is_gone(
        self, personas: Any, client_for: Any
    ) -> None:
        req = built(personas)
        records_services.request_withdraw(actor=personas.records_clerk, request=req)
        purge(years_later(6, days=1))
        client = client_for(personas.records_clerk)
        download = client.get(reverse("records:package", args=[req.pk]))
        assert download.status_code == 410
        assert REMOVED in download.content.decode()

    def test_the_request_page_shows_the_package_removed(
        self, personas: Any, client_for: Any
    ) -> None:
        req = built(personas)
        records_services.request_withdraw(actor=personas.records_clerk, request=req)
        purge(years_later(6, days=1))
        page = client_for(personas.records_clerk).get(reverse("records:request", args=[req.pk]))
        assert page.status_code == 200
        text = page.content.decode()
        assert 'The package: <em class="removed">Removed on ' in text
        assert reverse("records:package", args=[req.pk]) not in text


class TestPatientRecordPages:
    def test_the_patients_request_list_and_detail_still_open(
        self, personas: Any, client_for: Any
    ) -> None:
        req = request_closed_with_documents(personas)
        purge(years_later(6, days=1))
        client = client_for(personas.patient)
        assert client.get(reverse("portal:records")).status_code == 200
        detail = client.get(reverse("portal:records_detail", args=[req.pk]))
        assert detail.status_code == 200
