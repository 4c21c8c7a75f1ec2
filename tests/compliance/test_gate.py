"""The policy gate (compliance.middleware): a member of staff who has not acknowledged the
current policy reaches nothing but the acknowledgement page, until they acknowledge."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from compliance.models import PolicyAcknowledgement
from tests.access import PUBLIC, Route
from tests.compliance.factories import acknowledged_by_all, policy_published

ACKNOWLEDGE = reverse("compliance:acknowledge")
# Reachable with a policy pending: the page itself, signing out, the idle keep-alive.
OPEN = {"compliance:acknowledge", "accounts:sign_out", "accounts:session_keepalive"}


def _every_route() -> dict[str, Route]:
    """Every classified URL of every app (tests/<app>/routes.py) that needs a sign-in."""
    root = Path(__file__).resolve().parent.parent
    routes: dict[str, Route] = {}
    for path in sorted(root.glob("*/routes.py")):
        routes.update(import_module(f"tests.{path.parent.name}.routes").ROUTES)
    return {name: route for name, route in routes.items() if route.access != PUBLIC}


ROUTES = _every_route()


def _url(name: str, personas: Any, request: Any, settings: Any) -> str:
    route = ROUTES[name]
    for fixture in route.fixtures:
        request.getfixturevalue(fixture)
    for key, value in route.settings.items():
        setattr(settings, key, value)
    kwargs = route.kwargs(personas) if callable(route.kwargs) else route.kwargs
    return reverse(name, kwargs=kwargs or None)


def _sent_to_acknowledge(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith(ACKNOWLEDGE)


class TestAStaffMemberWithAPolicyPending:
    @pytest.mark.parametrize("name", sorted(set(ROUTES) - OPEN))
    def test_reaches_nothing_but_the_acknowledgement_page(
        self, name: str, personas: Any, client_for: Any, request: Any, settings: Any
    ) -> None:
        url = _url(name, personas, request, settings)
        policy_published(personas.privacy_officer)
        client = client_for(personas.clinician)
        for method in ROUTES[name].methods:
            response = getattr(client, method.lower())(url)
            assert _sent_to_acknowledge(response), (method, response.status_code)

    def test_the_acknowledgement_page_shows_the_policy(
        self, personas: Any, client_for: Any
    ) -> None:
        policy_published(personas.privacy_officer, title="Secure messaging rules")
        page = client_for(personas.clinician).get(ACKNOWLEDGE).content.decode()
        assert "Secure messaging rules" in page
        assert "Never forward a patient&#x27;s message to a personal address." in page
        assert "I have read and understood this policy" in page

    def test_it_is_sent_back_where_it_was_going_after_acknowledging(
        self, personas: Any, client_for: Any
    ) -> None:
        document = policy_published(personas.privacy_officer)
        client = client_for(personas.clinician)
        inbox = reverse("messaging:inbox")
        gate = client.get(inbox)
        assert parse_qs(urlsplit(gate["Location"]).query)["next"] == [inbox]
        response = client.post(
            ACKNOWLEDGE, {"document": document.pk, "understood": "on", "next": inbox}
        )
        assert response.status_code == 302 and response["Location"] == inbox
        assert client.get(inbox).status_code == 200

    def test_without_the_box_ticked_nothing_is_acknowledged(
        self, personas: Any, client_for: Any
    ) -> None:
        document = policy_published(personas.privacy_officer)
        client = client_for(personas.clinician)
        response = client.post(ACKNOWLEDGE, {"document": document.pk})
        assert response.status_code == 400
        assert "Tick the box to say you have read and understood it." in response.content.decode()
        assert not PolicyAcknowledgement.objects.exists()
        assert _sent_to_acknowledge(client.get(reverse("messaging:inbox")))

    def test_with_two_policies_both_must_be_acknowledged(
        self, personas: Any, client_for: Any
    ) -> None:
        first = policy_published(personas.privacy_officer)
        policy_published(personas.privacy_officer, kind="privacy_security", title="Privacy")
        client = client_for(personas.clinician)
        response = client.post(ACKNOWLEDGE, {"document": first.pk, "understood": "on"})
        assert _sent_to_acknowledge(response)
        assert "Privacy" in client.get(ACKNOWLEDGE).content.decode()
        assert _sent_to_acknowledge(client.get(reverse("accounts:home")))

    def test_a_new_version_gates_again(self, personas: Any, client_for: Any) -> None:
        acknowledged_by_all(policy_published(personas.privacy_officer), personas.clinician)
        client = client_for(personas.clinician)
        assert client.get(reverse("accounts:home")).status_code == 200
        policy_published(personas.privacy_officer, title="E-mail policy, revised")
        assert _sent_to_acknowledge(client.get(reverse("accounts:home")))

    def test_it_can_still_sign_out(self, personas: Any, client_for: Any) -> None:
        policy_published(personas.privacy_officer)
        client = client_for(personas.clinician)
        response = client.post(reverse("accounts:sign_out"))
        assert response.status_code == 302 and not response["Location"].startswith(ACKNOWLEDGE)
        assert "_auth_user_id" not in client.session

    def test_the_menu_offers_only_signing_out(self, personas: Any, client_for: Any) -> None:
        policy_published(personas.privacy_officer)
        page = client_for(personas.clinician).get(ACKNOWLEDGE).content.decode()
        assert "Sign out" in page
        assert reverse("messaging:inbox") not in page


class TestNothingIsGated:
    def test_before_any_policy_is_published(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.clinician)
        assert client.get(reverse("messaging:inbox")).status_code == 200

    def test_once_everything_is_acknowledged(self, personas: Any, client_for: Any) -> None:
        document = policy_published(personas.privacy_officer)
        acknowledged_by_all(document, personas.records_clerk)
        assert client_for(personas.records_clerk).get(reverse("records:queue")).status_code == 200

    def test_for_a_patient(self, personas: Any, client_for: Any) -> None:
        policy_published(personas.privacy_officer)
        client = client_for(personas.patient)
        assert client.get(reverse("portal:inbox")).status_code == 200
        assert client.get(ACKNOWLEDGE).status_code == 404

    def test_before_the_second_factor(self, personas: Any, client_for: Any) -> None:
        policy_published(personas.privacy_officer)
        client = client_for(personas.clinician, verified=False)
        response = client.get(reverse("messaging:inbox"))
        assert response["Location"].startswith(reverse("accounts:mfa_verify"))


# The officer keeps the policies screens while gated (compliance.middleware.OFFICER_VIEWS).
OFFICER_OPEN = OPEN | {"compliance:policies", "compliance:policy_publish", "compliance:policy"}


class TestThePrivacyOfficerWithAPolicyPending:
    @pytest.mark.parametrize("name", sorted(set(ROUTES) - OFFICER_OPEN))
    def test_reaches_nothing_but_the_policies_screens(
        self, name: str, personas: Any, client_for: Any, request: Any, settings: Any
    ) -> None:
        url = _url(name, personas, request, settings)
        policy_published(personas.privacy_officer)
        client = client_for(personas.privacy_officer)
        for method in ROUTES[name].methods:
            response = getattr(client, method.lower())(url)
            assert _sent_to_acknowledge(response), (method, response.status_code)

    def test_may_still_publish_a_correction(self, personas: Any, client_for: Any) -> None:
        policy_published(personas.privacy_officer)
        client = client_for(personas.privacy_officer)
        assert client.get(reverse("compliance:policies")).status_code == 200
        response = client.post(
            reverse("compliance:policy_publish"),
            {"kind": "email_messaging", "title": "Corrected", "text": "Corrected text."},
        )
        assert response.status_code == 302

    def test_must_acknowledge_before_anything_else(self, personas: Any, client_for: Any) -> None:
        policy_published(personas.privacy_officer)
        client = client_for(personas.privacy_officer)
        assert _sent_to_acknowledge(client.get(reverse("compliance:associates")))
        assert _sent_to_acknowledge(client.get(reverse("audit:search")))


class TestAfterAcknowledging:
    def test_the_page_passes_straight_on_to_where_they_were_going(
        self, personas: Any, client_for: Any
    ) -> None:
        acknowledged_by_all(policy_published(personas.privacy_officer), personas.clinician)
        inbox = reverse("messaging:inbox")
        response = client_for(personas.clinician).get(ACKNOWLEDGE, {"next": inbox})
        assert response.status_code == 302 and response["Location"] == inbox

    def test_it_never_passes_on_to_another_site(self, personas: Any, client_for: Any) -> None:
        acknowledged_by_all(policy_published(personas.privacy_officer), personas.clinician)
        client = client_for(personas.clinician)
        response = client.get(ACKNOWLEDGE, {"next": "https://evil.test/"})
        assert response.status_code == 200


class TestTheGateOnEveryPage:
    """Once a session has found the current versions acknowledged, its page views cost
    the gate no query; a version published elsewhere still gates within seconds."""

    def test_an_acknowledged_session_pays_no_query_for_the_gate(
        self, personas: Any, client_for: Any
    ) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        acknowledged_by_all(policy_published(personas.privacy_officer), personas.clinician)
        client = client_for(personas.clinician)
        inbox = reverse("messaging:inbox")
        with CaptureQueriesContext(connection) as first:
            assert client.get(inbox).status_code == 200
        with CaptureQueriesContext(connection) as later:
            assert client.get(inbox).status_code == 200
        gate = [q for q in first.captured_queries if "compliance_policy" in q["sql"]]
        assert gate and not [q for q in later.captured_queries if "compliance_" in q["sql"]]

    def test_a_version_published_by_another_process_gates_within_seconds(
        self, personas: Any, client_for: Any, monkeypatch: Any
    ) -> None:
        import time

        from compliance import selectors
        from compliance.models import PolicyDocument

        first = policy_published(personas.privacy_officer)
        acknowledged_by_all(first, personas.clinician)
        client = client_for(personas.clinician)
        assert client.get(reverse("accounts:home")).status_code == 200
        # Another process publishes: this one's kept ids are not told.
        PolicyDocument.objects.filter(pk=first.pk).update(superseded_at=first.published_at)
        PolicyDocument.objects.create(
            kind=first.kind,
            version=2,
            title=first.title,
            text=first.text,
            published_at=first.published_at,
            published_by=personas.privacy_officer,
        )
        later = time.monotonic() + selectors.CURRENT_POLICIES_SECONDS + 1
        monkeypatch.setattr(selectors.time, "monotonic", lambda: later)
        assert _sent_to_acknowledge(client.get(reverse("accounts:home")))
