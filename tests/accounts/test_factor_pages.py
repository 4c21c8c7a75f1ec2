"""Setting up an authenticator app (the key survives reloads) and saving backup codes
(print, and a text file offered only right after they are shown)."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP

from accounts.models import AuthenticatorApp
from accounts.services import backup_codes_issue
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'data-testid="totp-secret">([A-Z2-7 ]+)<')
CODE = re.compile(r"<li><code>([^<]+)</code></li>")


def shown_key(page: str) -> str:
    found = SECRET.search(page)
    assert found, "no key on the page"
    return found.group(1)


def code_for(key: str) -> str:
    secret = key.replace(" ", "")
    secret += "=" * (-len(secret) % 8)
    return f"{TOTP(base64.b32decode(secret)).token():06d}"


class TestAuthenticatorSetUp:
    url = reverse("accounts:mfa_enroll")

    def test_reloading_shows_the_same_key(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        first = shown_key(client.get(self.url).content.decode())
        assert shown_key(client.get(self.url).content.decode()) == first

    def test_the_code_from_the_shown_key_confirms_it(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        client.get(self.url)
        key = shown_key(client.get(self.url).content.decode())
        response = client.post(self.url, {"code": code_for(key)})
        assert response.status_code == 302
        assert AuthenticatorApp.objects.filter(user=personas.patient, confirmed=True).count() == 2

    def test_start_again_issues_a_new_key(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        old = shown_key(client.get(self.url).content.decode())
        response = client.post(self.url, {"restart": "1"}, follow=True)
        new = shown_key(response.content.decode())
        assert new != old
        assert "Here is a new key" in response.content.decode()
        # The old key no longer confirms anything.
        client.post(self.url, {"code": code_for(old)})
        assert AuthenticatorApp.objects.filter(user=personas.patient, confirmed=True).count() == 1

    def test_a_wrong_code_names_the_likely_causes(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        key = shown_key(client.get(self.url).content.decode())
        wrong = f"{(int(code_for(key)) + 1) % 1_000_000:06d}"
        page = client.post(self.url, {"code": wrong}).content.decode()
        assert "That code did not match" in page
        assert page.index("typo") < page.index("time on your phone")
        assert "this account" in page
        assert shown_key(page) == key


class TestBackupCodes:
    regenerate = reverse("accounts:backup_codes")
    download = reverse("accounts:backup_codes_download")

    def codes_shown(self, client: Any) -> tuple[str, list[str]]:
        page = client.post(self.regenerate).content.decode()
        return page, CODE.findall(page)

    def test_the_page_offers_print_and_download(self, personas: Any, client_for: Any) -> None:
        page, codes = self.codes_shown(client_for(personas.patient))
        assert len(codes) == 10
        assert "data-print" in page and "js/print-page.js" in page
        assert f'action="{self.download}"' in page

    def test_the_download_is_a_no_store_text_file_and_audited(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        _, codes = self.codes_shown(client)
        response = client.post(self.download, {"code": codes})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        assert response["Content-Disposition"].startswith("attachment;")
        assert "no-store" in response["Cache-Control"]
        assert all(code in response.content.decode() for code in codes)
        event = AuditEvent.objects.get(action="accounts.backup_codes_downloaded")
        assert event.actor_id == personas.patient.pk

    def test_it_is_refused_after_the_window(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        _, codes = self.codes_shown(client)
        with time_machine.travel(timezone.now() + timedelta(minutes=6)):
            response = client.post(self.download, {"code": codes})
        assert response.status_code == 410
        assert not AuditEvent.objects.filter(action="accounts.backup_codes_downloaded").exists()

    def test_it_is_refused_in_another_session(self, personas: Any, client_for: Any) -> None:
        _, codes = self.codes_shown(client_for(personas.patient))
        response = client_for(personas.patient).post(self.download, {"code": codes})
        assert response.status_code == 410

    def test_it_gives_back_only_codes_the_account_holds(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        self.codes_shown(client)
        other = backup_codes_issue(user=personas.other_patient)
        assert client.post(self.download, {"code": other}).status_code == 410

    def test_the_first_set_up_opens_the_window_too(self, personas: Any, client_for: Any) -> None:
        AuthenticatorApp.objects.filter(user=personas.other_patient).delete()
        personas.other_patient.mfa_enrolled_at = None
        personas.other_patient.save(update_fields=["mfa_enrolled_at"])
        client = client_for(personas.other_patient, verified=False)
        url = reverse("accounts:mfa_enroll")
        key = shown_key(client.get(url).content.decode())
        codes = CODE.findall(client.post(url, {"code": code_for(key)}).content.decode())
        assert len(codes) == 10
        assert client.post(self.download, {"code": codes}).status_code == 200
