"""Every authentication and account event leaves an audit event (45 CFR 164.312(b))."""

from __future__ import annotations

import json
from typing import Any

from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from accounts.actions import AccountsAction
from accounts.models import AuthenticatorApp, User
from audit.models import AuditEvent
from tests.accounts.helpers import actions, password_step, totp_now
from tests.conftest import PASSWORD


def _new_staff_member() -> tuple[Client, User]:
    user = User.objects.create_user(
        email="newcomer@clinic.test",
        password=PASSWORD,
        full_name="Newcomer Person",
        role="clinician",
    )
    client = Client()
    password_step(client, user.email, PASSWORD)
    return client, user


class TestEnrollmentEvents:
    def test_first_totp_enrollment_records_the_factor_and_backup_codes(self, db: Any) -> None:
        client, user = _new_staff_member()
        assert client.get(reverse("accounts:home"))["Location"] == reverse("accounts:mfa_enroll")
        client.get(reverse("accounts:mfa_enroll"))
        device = AuthenticatorApp.objects.get(user=user, confirmed=False)
        response = client.post(reverse("accounts:mfa_enroll"), {"code": totp_now(device)})
        assert response.status_code == 200
        assert "backup codes" in response.content.decode()
        assert actions(actor_id=user.pk)[-2:] == [
            AccountsAction.MFA_ENROLLED,
            AccountsAction.BACKUP_CODES_ISSUED,
        ]

    def test_a_wrong_enrollment_code_is_refused_and_audited(self, db: Any) -> None:
        client, user = _new_staff_member()
        client.get(reverse("accounts:mfa_enroll"))
        response = client.post(reverse("accounts:mfa_enroll"), {"code": "123456"})
        assert "did not match" in response.content.decode()
        assert not AuthenticatorApp.objects.filter(user=user, confirmed=True).exists()
        assert AccountsAction.MFA_FAILED in actions(target_type="accounts.authenticatorapp")

    def test_an_unenrolled_account_sees_nothing_but_enrollment(self, db: Any) -> None:
        client, _ = _new_staff_member()
        for name in ("accounts:home", "accounts:security", "accounts:patient_enroll"):
            assert client.get(reverse(name))["Location"] == reverse("accounts:mfa_enroll")


class TestChangeEvents:
    def test_password_change_is_audited(self, personas: Any, client_for: Any) -> None:
        new = "an entirely new passphrase 31"
        client_for(personas.clinician).post(
            reverse("accounts:password_change"),
            {"current_password": PASSWORD, "password1": new, "password2": new},
        )
        assert AccountsAction.PASSWORD_CHANGED in actions(actor_id=personas.clinician.pk)

    def test_factor_removal_is_audited(self, personas: Any, client_for: Any) -> None:
        spare = AuthenticatorApp.objects.create(user=personas.patient, name="Spare", confirmed=True)
        client_for(personas.patient).post(
            reverse("accounts:factor_remove", args=["authenticatorapp", spare.pk])
        )
        event = AuditEvent.objects.get(action=AccountsAction.MFA_REMOVED)
        assert (event.patient_id, event.details["factor"]) == (personas.patient.pk, "totp")

    def test_admin_changes_are_audited(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.privacy_officer)
        url = reverse("admin:accounts_user_change", args=[personas.clinician.pk])
        page = client.get(url)
        assert page.status_code == 200
        form = page.context["adminform"].form
        data = {k: v for k, v in form.initial.items() if v is not None and k != "password"}
        data.update(
            {
                "full_name": "Cedric Renamed",
                "role": "clinician",
                "email": "cedric.clinician@clinic.test",
            }
        )
        data["date_joined_0"], data["date_joined_1"] = "2026-01-01", "00:00:00"
        client.post(url, data)
        event = AuditEvent.objects.filter(action=AccountsAction.ADMIN_CHANGE).get()
        assert event.details["operation"] == "change"
        assert "full_name" in event.details["fields"]


class TestPasskeyFailures:
    def test_a_failed_passkey_ceremony_is_audited_and_counts_towards_lockout(
        self, personas: Any
    ) -> None:
        client = Client()
        password_step(client, personas.patient.email, PASSWORD)
        begin = client.post(
            reverse("otp_webauthn:credential-authentication-begin"), content_type="application/json"
        )
        assert begin.status_code == 200
        complete = client.post(
            reverse("otp_webauthn:credential-authentication-complete"),
            data=json.dumps(
                {
                    "id": "bm90LWEta2V5",
                    "rawId": "bm90LWEta2V5",
                    "type": "public-key",
                    "response": {},
                }
            ),
            content_type="application/json",
        )
        assert complete.status_code >= 400
        event = AuditEvent.objects.get(action=AccountsAction.MFA_FAILED)
        assert event.details["factor"] == "passkey"
        attempt = AccessAttempt.objects.get(username=personas.patient.email)
        assert attempt.failures_since_start == 1

    def test_passkey_begin_needs_the_password_step(self, db: Any) -> None:
        response = Client().post(
            reverse("otp_webauthn:credential-authentication-begin"), content_type="application/json"
        )
        assert response.status_code == 302  # to sign-in: passwordless sign-in is off
