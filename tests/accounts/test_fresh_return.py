"""After a fresh second factor the person is back where they were: ``next`` for a page,
and for a download the page they came from, which starts the download once."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import AuthenticatorApp
from core.sessions import SESSION_OTP_AT
from tests.accounts.helpers import totp_now

pytestmark = pytest.mark.django_db

SEARCH = "/audit/?outcome=success"


def _stale(client: Client) -> Client:
    session = client.session
    session[SESSION_OTP_AT] = 0
    session.save()
    return client


def _officer(personas: Any, client_for: Any) -> Client:
    return _stale(client_for(personas.privacy_officer))


def _verify(client: Client, location: str, user: Any, **data: str) -> Any:
    device = AuthenticatorApp.objects.get(user=user)
    return client.post(location, {"code": totp_now(device), **data})


def _export_url() -> str:
    return reverse("audit:export", args=["csv"]) + "?outcome=success"


class TestFreshSecondFactorReturn:
    def test_an_export_asks_for_it_and_remembers_the_page_it_came_from(
        self, personas: Any, client_for: Any
    ) -> None:
        client = _officer(personas, client_for)
        response = client.get(_export_url(), HTTP_REFERER=f"http://testserver{SEARCH}")
        query = parse_qs(urlsplit(response["Location"]).query)
        assert response["Location"].startswith(reverse("accounts:mfa_verify"))
        assert (query["next"], query["back"], query["download"]) == (
            [_export_url()],
            [SEARCH],
            ["1"],
        )

    def test_after_verifying_the_search_page_returns_and_starts_the_export(
        self, personas: Any, client_for: Any
    ) -> None:
        client = _officer(personas, client_for)
        asked = client.get(_export_url(), HTTP_REFERER=f"http://testserver{SEARCH}")
        verified = _verify(client, asked["Location"], personas.privacy_officer)
        assert verified["Location"] == SEARCH
        page = client.get(SEARCH).content.decode()
        assert f'href="{_export_url().replace("&", "&amp;")}" data-pending-download' in page
        assert "data-pending-download" not in client.get(SEARCH).content.decode()  # once
        download = client.get(_export_url())
        assert download["Content-Disposition"].startswith("attachment")

    def test_a_page_gets_its_next_honoured(self, personas: Any, client_for: Any) -> None:
        client = _stale(client_for(personas.patient))
        asked = client.get(
            reverse("accounts:mfa_verify") + "?fresh=1&next=/security/&back=/portal/messages/"
        )
        assert asked.status_code == 200
        verified = _verify(
            client,
            reverse("accounts:mfa_verify") + "?fresh=1&next=/security/&back=/portal/messages/",
            personas.patient,
        )
        assert verified["Location"] == "/security/"

    @pytest.mark.parametrize(
        "hostile", ["https://evil.test/", "//evil.test/x", "javascript:alert(1)"]
    )
    def test_a_hostile_next_is_refused(self, personas: Any, client_for: Any, hostile: str) -> None:
        client = _officer(personas, client_for)
        url = (
            reverse("accounts:mfa_verify")
            + "?"
            + "&".join(["fresh=1", "download=1", "back=/audit/", f"next={hostile}"])
        )
        verified = _verify(client, url, personas.privacy_officer, next=hostile)
        assert verified["Location"] == reverse("accounts:home")
        assert "data-pending-download" not in client.get("/audit/").content.decode()

    @pytest.mark.parametrize("hostile", ["https://evil.test/audit/", "//evil.test/audit/"])
    def test_a_hostile_back_is_refused(self, personas: Any, client_for: Any, hostile: str) -> None:
        client = _officer(personas, client_for)
        export = _export_url()
        url = (
            reverse("accounts:mfa_verify")
            + "?"
            + "&".join(["fresh=1", "download=1", f"back={hostile}", f"next={export}"])
        )
        verified = _verify(client, url, personas.privacy_officer)
        assert not verified["Location"].startswith(("http", "//"))
        page = client.get(url).content.decode()
        assert "evil.test" not in page

    def test_a_referer_from_another_site_is_not_kept(self, personas: Any, client_for: Any) -> None:
        client = _officer(personas, client_for)
        response = client.get(_export_url(), HTTP_REFERER="https://evil.test/audit/")
        assert "back" not in parse_qs(urlsplit(response["Location"]).query)

    def test_the_fresh_step_has_a_way_back_without_signing_out(
        self, personas: Any, client_for: Any
    ) -> None:
        client = _officer(personas, client_for)
        asked = client.get(_export_url(), HTTP_REFERER=f"http://testserver{SEARCH}")
        page = client.get(asked["Location"]).content.decode()
        assert f'<a href="{SEARCH}">Cancel and go back</a>' in page
        assert "Cancel and sign out" not in page


class TestOtherDownloads:
    def test_the_accounting_pdf_also_returns_to_the_page_it_came_from(
        self, personas: Any, client_for: Any
    ) -> None:
        client = _officer(personas, client_for)
        patient_page = reverse("directory:patient", args=[personas.patient.pk])
        pdf = reverse("consent:accounting_pdf", args=[personas.patient.pk])
        asked = client.get(pdf, HTTP_REFERER=f"http://testserver{patient_page}")
        query = parse_qs(urlsplit(asked["Location"]).query)
        assert (query["back"], query["download"]) == ([patient_page], ["1"])
        verified = _verify(client, asked["Location"], personas.privacy_officer)
        assert verified["Location"] == patient_page
        assert "data-pending-download" in client.get(patient_page).content.decode()


class TestByPasskey:
    """The passkey script can only follow a URL: it goes through fresh_return, which
    returns the person as the code form does, and only once the factor is fresh."""

    def _url(self) -> str:
        query = urlencode({"fresh": "1", "download": "1", "back": SEARCH, "next": _export_url()})
        return f"{reverse('accounts:mfa_verify')}?{query}"

    def test_the_passkey_goes_through_the_same_return(self, personas: Any, client_for: Any) -> None:
        officer = personas.privacy_officer
        WebAuthnCredential.objects.create(
            user=officer,
            name="Laptop",
            confirmed=True,
            credential_id=b"id",
            public_key=b"key",
            aaguid="00000000-0000-0000-0000-000000000000",
            credential_id_sha256="0" * 64,
        )
        page = _officer(personas, client_for).get(self._url()).content.decode()
        expected = (
            reverse("accounts:fresh_return")
            + "?"
            + urlencode({"next": _export_url(), "back": SEARCH, "download": "1"})
        )
        assert f'name="passkey_next" value="{html.escape(expected)}"' in page
        assert '"nextFieldSelector": "input[name=\'passkey_next\']"' in page

    def test_the_return_asks_again_while_the_factor_is_stale(
        self, personas: Any, client_for: Any
    ) -> None:
        client = _officer(personas, client_for)
        query = urlencode({"next": _export_url(), "back": SEARCH, "download": "1"})
        response = client.get(f"{reverse('accounts:fresh_return')}?{query}")
        assert response["Location"].startswith(reverse("accounts:mfa_verify") + "?fresh=1")
        assert "data-pending-download" not in client.get(SEARCH).content.decode()

    def test_once_fresh_the_page_comes_back_and_starts_the_download(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.privacy_officer)  # just verified: fresh
        query = urlencode({"next": _export_url(), "back": SEARCH, "download": "1"})
        response = client.get(f"{reverse('accounts:fresh_return')}?{query}")
        assert response["Location"] == SEARCH
        assert "data-pending-download" in client.get(SEARCH).content.decode()
