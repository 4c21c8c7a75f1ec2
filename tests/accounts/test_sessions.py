from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.actions import AccountsAction
from tests.accounts.helpers import actions


class TestSessionLifetime:
    def test_an_idle_session_ends_after_15_minutes(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            response = client.get(reverse("accounts:home"))
        assert response["Location"] == reverse("accounts:sign_in") + "?expired=idle"
        assert client.get(reverse("accounts:home"))["Location"].startswith(
            reverse("accounts:sign_in")
        )

    def test_a_session_without_a_last_seen_time_still_times_out(
        self, personas: Any, client_for: Any
    ) -> None:
        from core.sessions import SESSION_LAST_SEEN

        client = client_for(personas.patient)
        session = client.session
        del session[SESSION_LAST_SEEN]
        session.save()
        assert client.get(reverse("accounts:home")).status_code == 200
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            response = client.get(reverse("accounts:home"))
        assert response["Location"] == reverse("accounts:sign_in") + "?expired=idle"

    def test_the_keepalive_renews_the_timer_within_the_write_interval(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        start = timezone.now()
        with time_machine.travel(start + timedelta(minutes=14, seconds=58)):
            assert client.get(reverse("accounts:home")).status_code == 200
        # 3 s later: the middleware would skip the write, the keepalive must not.
        with time_machine.travel(start + timedelta(minutes=15, seconds=1)):
            assert client.post(reverse("accounts:session_keepalive")).status_code == 204
        with time_machine.travel(start + timedelta(minutes=30)):
            assert client.get(reverse("accounts:home")).status_code == 200

    def test_activity_keeps_the_session(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        start = timezone.now()
        for minutes in (10, 20, 30):
            with time_machine.travel(start + timedelta(minutes=minutes)):
                assert client.get(reverse("accounts:home")).status_code == 200

    def test_the_absolute_limit_ends_even_an_active_session(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        start = timezone.now()
        response = None
        for minutes in range(10, 12 * 60 + 20, 10):
            with time_machine.travel(start + timedelta(minutes=minutes)):
                response = client.get(reverse("accounts:home"))
                if response.status_code == 302:
                    break
        assert response is not None
        assert response["Location"] == reverse("accounts:sign_in") + "?expired=absolute"

    def test_a_timeout_is_audited(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            client.get(reverse("accounts:home"))
        assert AccountsAction.SESSION_EXPIRED in actions(patient_id=personas.patient.pk)


class TestOtherSessionsEnd:
    def test_changing_the_password_ends_other_sessions(
        self, personas: Any, client_for: Any
    ) -> None:
        here, elsewhere = client_for(personas.patient), client_for(personas.patient)
        new = "a completely different passphrase 9"
        response = here.post(
            reverse("accounts:password_change"),
            {
                "current_password": "a long and unusual passphrase 42",
                "password1": new,
                "password2": new,
            },
        )
        assert response.status_code == 302
        assert here.get(reverse("accounts:home")).status_code == 200
        assert elsewhere.get(reverse("accounts:home")).status_code == 302

    def test_changing_second_factors_ends_other_sessions(
        self, personas: Any, client_for: Any
    ) -> None:
        here, elsewhere = client_for(personas.patient), client_for(personas.patient)
        from accounts.models import AuthenticatorApp

        spare = AuthenticatorApp.objects.create(
            user=personas.patient, name="Old phone", confirmed=True
        )
        here.post(reverse("accounts:factor_remove", args=["authenticatorapp", spare.pk]))
        assert here.get(reverse("accounts:home")).status_code == 200
        assert elsewhere.get(reverse("accounts:home")).status_code == 302


class TestFreshSecondFactor:
    def test_sensitive_changes_ask_for_a_fresh_second_factor(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        with time_machine.travel(timezone.now() + timedelta(minutes=6)):
            client.get(reverse("accounts:home"))  # still active
        with time_machine.travel(timezone.now() + timedelta(minutes=11)):
            response = client.post(reverse("accounts:backup_codes"))
        assert response["Location"].startswith(reverse("accounts:mfa_verify"))
        assert "fresh=1" in response["Location"]

    def test_the_last_second_factor_cannot_be_removed(self, personas: Any, client_for: Any) -> None:
        from accounts.models import AuthenticatorApp

        client = client_for(personas.patient)
        device = AuthenticatorApp.objects.get(user=personas.patient)
        response = client.post(
            reverse("accounts:factor_remove", args=["authenticatorapp", device.pk]), follow=True
        )
        assert "cannot remove your last second factor" in response.content.decode()
        assert AuthenticatorApp.objects.filter(pk=device.pk).exists()

    def test_another_users_factor_is_404(self, personas: Any, client_for: Any) -> None:
        from accounts.models import AuthenticatorApp

        device = AuthenticatorApp.objects.get(user=personas.other_patient)
        response = client_for(personas.patient).post(
            reverse("accounts:factor_remove", args=["authenticatorapp", device.pk])
        )
        assert response.status_code == 404


class TestFactorRecovery:
    def test_the_last_authenticator_cannot_go_even_with_backup_codes_left(
        self, personas: Any, client_for: Any
    ) -> None:
        from accounts.models import AuthenticatorApp
        from accounts.services import backup_codes_issue

        backup_codes_issue(user=personas.patient)
        device = AuthenticatorApp.objects.get(user=personas.patient)
        client_for(personas.patient).post(
            reverse("accounts:factor_remove", args=["authenticatorapp", device.pk])
        )
        assert AuthenticatorApp.objects.filter(pk=device.pk).exists()

    def test_an_enrolled_account_without_factors_cannot_self_enroll(
        self, personas: Any, client_for: Any
    ) -> None:
        from accounts.models import AuthenticatorApp

        patient = personas.patient
        patient.mfa_enrolled_at = timezone.now()
        patient.save()
        AuthenticatorApp.objects.filter(user=patient).delete()  # e.g. every backup code spent
        client = client_for(patient, verified=False)
        response = client.get(reverse("accounts:mfa_enroll"))
        assert response.status_code == 403
        assert "send a recovery link" in response.content.decode()
        assert not AuthenticatorApp.objects.filter(user=patient).exists()
