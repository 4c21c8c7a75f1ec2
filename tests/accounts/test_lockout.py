from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actions import AccountsAction
from tests.accounts.helpers import actions, password_step
from tests.conftest import PASSWORD


def _fail(email: str, times: int, ip: str = "10.0.0.1") -> Any:
    response = None
    for _ in range(times):
        response = password_step(Client(), email, "definitely wrong password", REMOTE_ADDR=ip)
    return response


class TestAccountLockout:
    def test_fifth_failure_locks_the_account_on_that_ip(self, personas: Any) -> None:
        _fail(personas.patient.email, 5)
        response = password_step(Client(), personas.patient.email, PASSWORD, REMOTE_ADDR="10.0.0.1")
        assert response.status_code == 429
        assert "Try again in 15 minutes" in response.content.decode()

    def test_four_failures_do_not_lock(self, personas: Any) -> None:
        _fail(personas.patient.email, 4)
        response = password_step(Client(), personas.patient.email, PASSWORD, REMOTE_ADDR="10.0.0.1")
        assert response.status_code == 302

    def test_the_lock_is_per_ip_so_a_clinic_behind_nat_is_not_locked_out(
        self, personas: Any
    ) -> None:
        _fail(personas.patient.email, 5, ip="10.0.0.1")
        response = password_step(
            Client(), personas.clinician.email, PASSWORD, REMOTE_ADDR="10.0.0.1"
        )
        assert response.status_code == 302

    def test_lock_lifts_after_the_cool_off(self, personas: Any) -> None:
        _fail(personas.patient.email, 5)
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            response = password_step(
                Client(), personas.patient.email, PASSWORD, REMOTE_ADDR="10.0.0.1"
            )
        assert response.status_code == 302

    def test_lockout_is_audited(self, personas: Any) -> None:
        _fail(personas.patient.email, 5)
        assert AccountsAction.LOCKED_OUT in actions(patient_id=personas.patient.pk)

    def test_locked_and_unknown_accounts_look_alike(self, personas: Any) -> None:
        locked = _fail(personas.patient.email, 6)
        unknown = _fail("no.such.person@mail.test", 6, ip="10.0.0.2")
        assert locked.status_code == unknown.status_code == 429

    def test_spoofed_forwarded_for_does_not_escape_the_lock(self, personas: Any) -> None:
        _fail(personas.patient.email, 5)
        response = password_step(
            Client(),
            personas.patient.email,
            PASSWORD,
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
        assert response.status_code == 429

    def test_failed_second_factor_codes_count_towards_the_lock(
        self, personas: Any, client_for: Any
    ) -> None:
        client = Client(REMOTE_ADDR="10.0.0.3")
        password_step(client, personas.patient.email, PASSWORD, REMOTE_ADDR="10.0.0.3")
        statuses = [
            client.post(
                reverse("accounts:mfa_verify"), {"code": "000000"}, REMOTE_ADDR="10.0.0.3"
            ).status_code
            for _ in range(5)
        ]
        assert statuses[-1] == 429
        after = client.get(reverse("accounts:home"), REMOTE_ADDR="10.0.0.3")
        assert after["Location"].startswith(reverse("accounts:sign_in"))


class TestIPLimit:
    def test_an_ip_failing_across_many_accounts_is_stopped(
        self, personas: Any, settings: Any
    ) -> None:
        settings.IP_FAILURE_LIMIT = 6
        for n in range(6):
            password_step(
                Client(), f"guess{n}@mail.test", "wrong password again", REMOTE_ADDR="10.9.9.9"
            )
        response = password_step(Client(), personas.patient.email, PASSWORD, REMOTE_ADDR="10.9.9.9")
        assert response.status_code == 429

    def test_other_ips_are_not_affected(self, personas: Any, settings: Any) -> None:
        settings.IP_FAILURE_LIMIT = 6
        for n in range(6):
            password_step(
                Client(), f"guess{n}@mail.test", "wrong password again", REMOTE_ADDR="10.9.9.9"
            )
        response = password_step(
            Client(), personas.patient.email, PASSWORD, REMOTE_ADDR="10.9.9.10"
        )
        assert response.status_code == 302


class TestSecondFactorLockout:
    def _password(self, client: Client, email: str) -> None:
        password_step(client, email, PASSWORD, REMOTE_ADDR="10.0.0.4")

    def _wrong_code(self, client: Client) -> Any:
        return client.post(
            reverse("accounts:mfa_verify"), {"code": "000000"}, REMOTE_ADDR="10.0.0.4"
        )

    def test_entering_the_password_again_does_not_clear_code_failures(self, personas: Any) -> None:
        client = Client()
        self._password(client, personas.patient.email)
        for _ in range(4):
            self._wrong_code(client)
        self._password(client, personas.patient.email)  # a fresh password step...
        assert self._wrong_code(client).status_code == 429  # ...does not buy four more tries
        assert AccountsAction.LOCKED_OUT in actions(patient_id=personas.patient.pk)

    def test_a_completed_sign_in_clears_the_failures(self, personas: Any) -> None:
        from accounts.models import AuthenticatorApp
        from tests.accounts.helpers import totp_now

        client = Client()
        self._password(client, personas.patient.email)
        for _ in range(4):
            self._wrong_code(client)
        device = AuthenticatorApp.objects.get(user=personas.patient)
        device.throttle_reset()
        ok = client.post(
            reverse("accounts:mfa_verify"), {"code": totp_now(device)}, REMOTE_ADDR="10.0.0.4"
        )
        assert ok.status_code == 302
        client.post(reverse("accounts:sign_out"), REMOTE_ADDR="10.0.0.4")
        self._password(client, personas.patient.email)
        assert self._wrong_code(client).status_code == 200  # counting starts again


class TestIPv6:
    def test_addresses_in_one_64_share_a_budget(self) -> None:
        from accounts.lockout import ip_failure_add, ip_failure_count

        ip_failure_add("2001:db8:1:2::1")
        ip_failure_add("2001:db8:1:2:ffff::9")
        assert ip_failure_count("2001:db8:1:2::abcd") == 2
        assert ip_failure_count("2001:db8:1:3::1") == 0
