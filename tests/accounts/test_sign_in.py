from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.actions import AccountsAction
from accounts.models import AuthenticatorApp
from accounts.views import SIGN_IN_FAILED_MESSAGE
from audit.models import AuditEvent
from tests.accounts.helpers import actions, password_step, totp_now
from tests.conftest import PASSWORD


class TestPasswordStep:
    def test_right_password_leads_to_the_second_factor(self, personas: Any) -> None:
        response = password_step(Client(), personas.patient.email, PASSWORD)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:mfa_verify"))

    def test_password_alone_shows_no_portal_page(self, personas: Any) -> None:
        client = Client()
        password_step(client, personas.patient.email, PASSWORD)
        response = client.get(reverse("accounts:home"))
        assert response["Location"].startswith(reverse("accounts:mfa_verify"))

    def test_wrong_password_and_unknown_account_read_the_same(self, personas: Any) -> None:
        wrong = password_step(Client(), personas.patient.email, "not the password at all")
        unknown = password_step(Client(), "nobody@nowhere.test", "not the password at all")
        assert wrong.status_code == unknown.status_code == 200
        assert SIGN_IN_FAILED_MESSAGE in wrong.content.decode()
        assert SIGN_IN_FAILED_MESSAGE in unknown.content.decode()

    def test_session_id_rotates_at_sign_in(self, personas: Any) -> None:
        client = Client()
        client.get(reverse("accounts:sign_in"))
        client.session.save()
        before = client.session.session_key
        password_step(client, personas.patient.email, PASSWORD)
        assert client.session.session_key != before

    def test_success_and_failure_are_audited(self, personas: Any) -> None:
        password_step(Client(), personas.clinician.email, "wrong password here")
        password_step(Client(), personas.clinician.email, PASSWORD)
        assert actions(target_id=str(personas.clinician.pk)) == [
            AccountsAction.SIGN_IN_FAILED,
            AccountsAction.SIGN_IN,
        ]


class TestSecondFactor:
    def _half_signed_in(self, user: Any) -> Client:
        client = Client()
        password_step(client, user.email, PASSWORD)
        return client

    def test_totp_code_completes_sign_in_and_rotates_session(self, personas: Any) -> None:
        client = self._half_signed_in(personas.patient)
        before = client.session.session_key
        device = AuthenticatorApp.objects.get(user=personas.patient)
        response = client.post(reverse("accounts:mfa_verify"), {"code": totp_now(device)})
        assert response.status_code == 302
        assert client.session.session_key != before
        assert client.get(reverse("accounts:home")).status_code == 200

    def test_a_used_totp_code_is_refused_the_second_time(self, personas: Any) -> None:
        device = AuthenticatorApp.objects.get(user=personas.patient)
        code = totp_now(device)
        first = self._half_signed_in(personas.patient)
        assert first.post(reverse("accounts:mfa_verify"), {"code": code}).status_code == 302
        second = self._half_signed_in(personas.patient)
        response = second.post(reverse("accounts:mfa_verify"), {"code": code})
        assert response.status_code == 200
        assert "did not work" in response.content.decode()

    def test_a_backup_code_works_once(self, personas: Any) -> None:
        from accounts.services import backup_codes_issue

        code = backup_codes_issue(user=personas.patient)[0]
        client = self._half_signed_in(personas.patient)
        assert client.post(reverse("accounts:mfa_verify"), {"code": code}).status_code == 302
        again = self._half_signed_in(personas.patient)
        assert again.post(reverse("accounts:mfa_verify"), {"code": code}).status_code == 200

    def test_wrong_code_is_audited_as_denied(self, personas: Any) -> None:
        client = self._half_signed_in(personas.patient)
        client.post(reverse("accounts:mfa_verify"), {"code": "000000"})
        event = AuditEvent.objects.filter(action=AccountsAction.MFA_FAILED).get()
        assert event.outcome == "denied"
        assert event.patient_id == personas.patient.pk

    def test_malformed_code_is_a_form_error(self, personas: Any) -> None:
        client = self._half_signed_in(personas.patient)
        response = client.post(reverse("accounts:mfa_verify"), {"code": "<script>"})
        assert response.status_code == 200
        assert "6-digit code" in response.content.decode()

    def test_next_is_followed_only_within_the_site(self, personas: Any) -> None:
        client = self._half_signed_in(personas.patient)
        device = AuthenticatorApp.objects.get(user=personas.patient)
        response = client.post(
            reverse("accounts:mfa_verify") + "?next=https://evil.example/",
            {"code": totp_now(device)},
        )
        assert response["Location"] == reverse("accounts:home")


class TestSignOut:
    def test_sign_out_ends_the_server_side_session(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        old_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        client.post(reverse("accounts:sign_out"))
        replay = Client()
        replay.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
        assert replay.get(reverse("accounts:home")).status_code == 302
        assert AccountsAction.SIGN_OUT in actions(actor_id=personas.patient.pk)

    def test_a_tampered_session_cookie_is_not_a_session(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        forged = Client()
        forged.cookies[settings.SESSION_COOKIE_NAME] = cookie[:-4] + "abcd"
        response = forged.get(reverse("accounts:home"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:sign_in"))


class TestPasswordStorage:
    def test_outside_the_suite_passwords_are_stored_with_argon2(self, settings: Any) -> None:
        from django.contrib.auth.hashers import make_password

        # The suite alone puts a fast hasher first (config/settings.py, APP_MODE=test).
        settings.PASSWORD_HASHERS = [h for h in settings.PASSWORD_HASHERS if "MD5" not in h]
        assert make_password("a long and unusual passphrase 42").startswith("argon2$")
