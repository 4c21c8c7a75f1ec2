"""The dashboard and the pack download: what the privacy officer sees, what is recorded,
and the fresh second factor before the pack leaves."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from core.sessions import SESSION_OTP_AT
from evidence.actions import EvidenceAction
from tests.compliance.factories import acknowledged_by_all, associate_added, policy_published
from tests.conftest import page_query_count, sign_in_client
from tests.records.factories import request_received

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("evidence:dashboard")
PACK = reverse("evidence:pack")


def _officer(personas: Any, client_for: Any) -> Client:
    return client_for(personas.privacy_officer)


class TestDashboard:
    def test_it_shows_every_section(self, personas: Any, client_for: Any) -> None:
        page = _officer(personas, client_for).get(DASHBOARD).content.decode()
        for title in (
            "Authentication",
            "Encryption",
            "Audit trail",
            "Right of access",
            "Disclosures and consent",
            "Deliveries",
            "Retention",
            "Workforce policy acknowledgement",
        ):
            assert f">{title}</h2>" in page

    def test_a_figure_links_to_the_list_behind_it(self, personas: Any, client_for: Any) -> None:
        request_received(patient=personas.patient, received_at=timezone.now() - 25 * timedelta(1))
        page = _officer(personas, client_for).get(DASHBOARD).content.decode()
        assert f'<a href="{reverse("records:queue")}?view=due_soon">' in page
        assert 'data-figure="access.due_within_7_days"' in page

    def test_each_opening_is_recorded(self, personas: Any, client_for: Any) -> None:
        client = _officer(personas, client_for)
        client.get(DASHBOARD)
        client.get(DASHBOARD)
        events = AuditEvent.objects.filter(action=EvidenceAction.DASHBOARD_VIEWED)
        assert events.count() == 2
        assert events.first().actor_id == personas.privacy_officer.pk  # type: ignore[union-attr]

    def test_its_queries_do_not_grow_with_the_data(self, personas: Any, client_for: Any) -> None:
        officer = personas.privacy_officer
        document = policy_published(officer)
        acknowledged_by_all(document, officer)
        associate_added(officer)
        request_received(patient=personas.patient)
        client = _officer(personas, client_for)
        before = page_query_count(client, DASHBOARD)
        for n in range(3):
            request_received(patient=personas.patient)
            associate_added(officer, name=f"Vendor {n}")
        acknowledged_by_all(document, personas.clinician, personas.records_clerk)
        acknowledged_by_all(policy_published(officer, kind="privacy_security"), officer)
        assert page_query_count(client, DASHBOARD) == before

    def test_the_nav_shows_it_to_the_privacy_officer_only(
        self, personas: Any, client_for: Any
    ) -> None:
        home = reverse("accounts:home")
        assert DASHBOARD in _officer(personas, client_for).get(home).content.decode()
        assert DASHBOARD not in client_for(personas.records_clerk).get(home).content.decode()


class TestPackDownload:
    def test_a_stale_second_factor_is_asked_again(self, personas: Any) -> None:
        client = sign_in_client(Client(), personas.privacy_officer)
        session = client.session
        session[SESSION_OTP_AT] = 0  # confirmed long ago
        session.save()
        response = client.get(PACK, HTTP_REFERER=f"http://testserver{DASHBOARD}")
        assert response.status_code == 302
        target = urlparse(response["Location"])
        assert target.path == reverse("accounts:mfa_verify")
        assert parse_qs(target.query)["fresh"] == ["1"]
        assert not AuditEvent.objects.filter(action=EvidenceAction.PACK_EXPORTED).exists()

    def test_the_download_is_recorded_with_its_digest(
        self, personas: Any, client_for: Any, organisation: Any
    ) -> None:
        response = _officer(personas, client_for).get(
            PACK, {"date_from": "2026-10-01", "date_to": "2026-10-31"}
        )
        data = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        event = AuditEvent.objects.get(action=EvidenceAction.PACK_EXPORTED)
        assert event.details["zip_sha256"] == hashlib.sha256(data).hexdigest()
        assert (event.details["date_from"], event.details["date_to"]) == (
            "2026-10-01",
            "2026-10-31",
        )
        assert response["Content-Type"] == "application/zip"
        assert "no-store" in response["Cache-Control"]

    @pytest.mark.parametrize(
        ("date_from", "date_to", "error"),
        [
            ("2026-10-31", "2026-10-01", "The end date is before the start date."),
            ("2026-06-01", "2026-10-01", "One pack covers at most 92 days."),
            ("2026-10-01", "2099-01-01", "The period cannot end in the future."),
        ],
    )
    def test_a_wrong_period_is_refused_and_nothing_leaves(
        self, personas: Any, client_for: Any, date_from: str, date_to: str, error: str
    ) -> None:
        response = _officer(personas, client_for).get(
            PACK, {"date_from": date_from, "date_to": date_to}
        )
        assert response.status_code == 400
        assert error in response.content.decode()
        assert not AuditEvent.objects.filter(action=EvidenceAction.PACK_EXPORTED).exists()
