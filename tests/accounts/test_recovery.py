"""A lost second factor: staff verify identity and send a recovery link; the link and the
password replace every old factor with a new one. Through a person, never self-service."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actions import AccountsAction
from accounts.errors import AccountsError
from accounts.models import AuthenticatorApp, BackupCodes, IdentityMethod, Role
from accounts.services import backup_codes_issue, recovery_issue
from tests.accounts.helpers import actions, password_step, totp_now
from tests.conftest import PASSWORD, body_text, make_user

METHOD = IdentityMethod.PHOTO_ID_IN_PERSON


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    cache.clear()


def _issue(actor: Any, user: Any, on_commit: Any) -> None:
    with on_commit(execute=True):
        recovery_issue(actor=actor, user=user, identity_method=METHOD)


def _link(smtp_server: Any) -> str:
    match = re.search(r"https?://\S+?(/recovery/\S+/)", body_text(smtp_server.messages[-1]))
    assert match, "no recovery link"
    return match.group(1)


class TestWhoMayRecover:
    def test_a_records_clerk_recovers_a_patient(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        _issue(personas.records_clerk, personas.patient, django_capture_on_commit_callbacks)
        assert smtp_server.messages[-1]["X-Envelope-To"] == personas.patient.email
        assert AccountsAction.RECOVERY_ISSUED in actions()

    @pytest.mark.parametrize("actor", ["clinician", "patient", "other_patient"])
    def test_nobody_else_recovers_a_patient(self, personas: Any, actor: str) -> None:
        with pytest.raises(AccountsError, match="cannot recover"):
            recovery_issue(
                actor=getattr(personas, actor), user=personas.patient, identity_method=METHOD
            )

    def test_only_the_privacy_officer_recovers_staff(self, personas: Any) -> None:
        with pytest.raises(AccountsError):
            recovery_issue(
                actor=personas.records_clerk, user=personas.clinician, identity_method=METHOD
            )
        recovery_issue(
            actor=personas.privacy_officer, user=personas.clinician, identity_method=METHOD
        )

    def test_a_privacy_officer_cannot_recover_their_own_account(self, personas: Any) -> None:
        with pytest.raises(AccountsError):
            recovery_issue(
                actor=personas.privacy_officer,
                user=personas.privacy_officer,
                identity_method=METHOD,
            )

    def test_a_second_privacy_officer_or_the_server_command_can(
        self, personas: Any, smtp_server: Any
    ) -> None:
        second = make_user("oscar.second@clinic.test", "Oscar Second", Role.PRIVACY_OFFICER)
        recovery_issue(actor=second, user=personas.privacy_officer, identity_method=METHOD)
        out = StringIO()
        call_command(
            "recovery_issue", email=personas.privacy_officer.email, method=METHOD, stdout=out
        )
        assert "recovery link was sent" in out.getvalue()


class TestFollowingTheLink:
    def test_the_password_then_a_new_authenticator_and_the_old_code_is_refused(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        patient = personas.patient
        old = AuthenticatorApp.objects.get(user=patient)
        old_key = old.bin_key
        backup_codes_issue(user=patient)
        _issue(personas.records_clerk, patient, django_capture_on_commit_callbacks)
        client = Client()
        client.get(_link(smtp_server))
        with django_capture_on_commit_callbacks(execute=True):
            response = password_step(client, patient.email, PASSWORD)
        assert response["Location"] == reverse("accounts:mfa_enroll")
        assert not AuthenticatorApp.objects.filter(pk=old.pk).exists()
        assert not BackupCodes.objects.filter(user=patient).exists()
        assert AccountsAction.RECOVERY_USED in actions()
        assert smtp_server.messages[-1]["Subject"].endswith("was set up again")
        # A new authenticator app is enrolled; the old phone's code no longer signs in.
        from django_otp.oath import TOTP

        from accounts.services import totp_device_confirm, totp_device_start

        new = totp_device_start(user=patient)
        totp_device_confirm(user=patient, device_id=new.pk, token=totp_now(new))
        stale = f"{TOTP(old_key, 30, 0, 6, 0).token():06d}"
        again = Client()
        password_step(again, patient.email, PASSWORD)
        refused = again.post(reverse("accounts:mfa_verify"), {"code": stale})
        assert refused.status_code == 200 and "did not work" in refused.content.decode()

    def test_a_link_works_once_and_for_a_day(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        _issue(personas.records_clerk, personas.patient, django_capture_on_commit_callbacks)
        link = _link(smtp_server)
        with time_machine.travel(timezone.now() + timedelta(hours=25)):
            assert Client().get(link).status_code == 410
        client = Client()
        client.get(link)
        password_step(client, personas.patient.email, PASSWORD)
        assert Client().get(link).status_code == 410

    def test_another_accounts_password_does_not_use_the_link(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        _issue(personas.records_clerk, personas.patient, django_capture_on_commit_callbacks)
        client = Client()
        client.get(_link(smtp_server))
        response = password_step(client, personas.other_patient.email, PASSWORD)
        assert response["Location"].startswith(reverse("accounts:mfa_verify"))
        assert AuthenticatorApp.objects.filter(user=personas.patient).exists()

    def test_a_garbage_link_is_only_logged(self, db: Any, caplog: Any) -> None:
        from audit.models import AuditEvent

        assert Client().get("/recovery/not-a-token/").status_code == 410
        assert not AuditEvent.objects.exists()
        assert "recovery link refused" in caplog.text
