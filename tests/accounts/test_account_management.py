"""Looking after other people's accounts: invitations resent, care teams, offboarding,
roles, and the throttles around signing in."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.actions import AccountsAction
from accounts.errors import AccountsError
from accounts.models import CareTeamMember, Invitation, Role, User
from accounts.services import (
    ACCOUNT_FAILURE_CEILING,
    account_deactivate,
    account_reactivate,
    care_team_member_add,
    care_team_member_remove,
    invitation_resend,
    patient_enroll,
    role_change,
)
from audit.models import AuditEvent
from messaging import policies as messaging_policies
from tests.accounts.helpers import actions, password_step
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db
ACCOUNT_SLOW_WINDOW_FOR_TESTS = 1


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    cache.clear()


@pytest.fixture
def second_clinician(db: Any) -> User:
    return make_user("dana.second@clinic.test", "Dana Okonkwo", Role.CLINICIAN)


class TestInvitationResent:
    def test_a_lost_invitation_is_replaced_and_the_old_link_dies(
        self, personas: Any, django_capture_on_commit_callbacks: Any, smtp_server: Any
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            invited = patient_enroll(
                actor=personas.clinician,
                email="ines.invited@mail.test",
                legal_name="Ines Invited",
                date_of_birth=personas.patient.patient_profile.date_of_birth,
                mrn="MRN-777001",
                identity_method="photo_id_in_person",
            ).user
        first = Invitation.objects.get(user=invited)
        with django_capture_on_commit_callbacks(execute=True):
            invitation_resend(actor=personas.records_clerk, user=invited)
        first.refresh_from_db()
        assert first.revoked_at is not None
        assert Invitation.objects.filter(user=invited, revoked_at__isnull=True).count() == 1
        assert len(smtp_server.messages) == 2

    def test_an_account_with_a_password_is_not_reinvited(self, personas: Any) -> None:
        with pytest.raises(AccountsError, match="already has a password"):
            invitation_resend(actor=personas.records_clerk, user=personas.patient)


class TestCareTeams:
    def test_a_clinician_on_the_team_adds_a_colleague_who_may_then_message(
        self, personas: Any, second_clinician: User
    ) -> None:
        assert not messaging_policies.may_message(second_clinician, personas.patient)
        care_team_member_add(
            actor=personas.clinician, patient=personas.patient, staff=second_clinician
        )
        assert messaging_policies.may_message(second_clinician, personas.patient)
        assert AccountsAction.CARE_TEAM_ADDED in actions()

    def test_a_clinician_off_the_team_cannot_change_it(
        self, personas: Any, second_clinician: User
    ) -> None:
        with pytest.raises(AccountsError, match="cannot change"):
            care_team_member_add(
                actor=second_clinician, patient=personas.patient, staff=second_clinician
            )

    def test_only_the_privacy_officer_removes_the_last_clinician(self, personas: Any) -> None:
        with pytest.raises(AccountsError, match="last clinician"):
            care_team_member_remove(
                actor=personas.clinician, patient=personas.patient, staff=personas.clinician
            )
        care_team_member_remove(
            actor=personas.privacy_officer, patient=personas.patient, staff=personas.clinician
        )
        assert not CareTeamMember.objects.filter(patient=personas.patient).exists()
        assert not messaging_policies.may_message(personas.clinician, personas.patient)
        assert AccountsAction.CARE_TEAM_REMOVED in actions()

    def test_the_patient_sees_their_care_team(self, personas: Any, client_for: Any) -> None:
        page = client_for(personas.patient).get(reverse("accounts:home")).content.decode()
        assert "Your care team" in page and personas.clinician.full_name in page


class TestOffboarding:
    def test_a_deactivated_clinicians_open_session_is_refused_at_once(
        self, personas: Any, client_for: Any
    ) -> None:
        session = client_for(personas.clinician)
        assert session.get(reverse("messaging:inbox")).status_code == 200
        account_deactivate(actor=personas.privacy_officer, user=personas.clinician)
        response = session.get(reverse("messaging:inbox"))
        assert response.status_code == 302
        assert password_step(Client(), personas.clinician.email, PASSWORD).status_code == 200
        event = AuditEvent.objects.get(action=AccountsAction.ACCOUNT_DEACTIVATED)
        assert event.details["sessions_ended"] >= 1

    def test_only_the_privacy_officer_deactivates_and_never_themselves(self, personas: Any) -> None:
        with pytest.raises(AccountsError):
            account_deactivate(actor=personas.records_clerk, user=personas.clinician)
        with pytest.raises(AccountsError):
            account_deactivate(actor=personas.privacy_officer, user=personas.privacy_officer)

    def test_reactivation_goes_through_a_recovery(
        self, personas: Any, django_capture_on_commit_callbacks: Any, smtp_server: Any
    ) -> None:
        account_deactivate(actor=personas.privacy_officer, user=personas.clinician)
        with django_capture_on_commit_callbacks(execute=True):
            account_reactivate(
                actor=personas.privacy_officer,
                user=personas.clinician,
                identity_method="photo_id_in_person",
            )
        assert User.objects.get(pk=personas.clinician.pk).is_active
        assert personas.clinician.recoveries.filter(used_at__isnull=True).count() == 1
        assert smtp_server.messages[-1]["X-Envelope-To"] == personas.clinician.email

    def test_a_role_change_is_audited_with_old_and_new(self, personas: Any) -> None:
        role_change(
            actor=personas.privacy_officer, user=personas.clinician, role=Role.RECORDS_CLERK
        )
        event = AuditEvent.objects.get(action=AccountsAction.ROLE_CHANGED)
        assert event.details == {"old": "clinician", "new": "records_clerk"}

    def test_a_patient_cannot_be_given_a_staff_role(self, personas: Any) -> None:
        with pytest.raises(AccountsError):
            role_change(actor=personas.privacy_officer, user=personas.patient, role=Role.CLINICIAN)


class TestThrottles:
    def test_past_the_days_ceiling_an_account_may_try_once_a_minute_and_the_officer_hears(
        self,
        personas: Any,
        settings: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from accounts.services import sign_in as sign_in_services

        monkeypatch.setattr(sign_in_services, "ACCOUNT_SLOW_WINDOW", ACCOUNT_SLOW_WINDOW_FOR_TESTS)
        settings.AXES_FAILURE_LIMIT = 10_000  # the per-(account, address) lock is not this
        email = personas.patient.email
        with django_capture_on_commit_callbacks(execute=True):
            for n in range(ACCOUNT_FAILURE_CEILING + 1):
                password_step(
                    Client(), email, "wrong guess here", REMOTE_ADDR=f"10.3.{n // 200}.{n % 200}"
                )
        assert AccountsAction.SIGN_IN_CEILING in actions()
        assert smtp_server.messages[-1]["X-Envelope-To"] == personas.privacy_officer.email
        # The last failure used this minute's one try: even the right password waits.
        assert password_step(Client(), email, PASSWORD, REMOTE_ADDR="10.9.0.1").status_code == 429
        # The minute passes (a second here: the cache keeps real time), and one try works.
        time.sleep(ACCOUNT_SLOW_WINDOW_FOR_TESTS + 0.2)
        assert password_step(Client(), email, PASSWORD, REMOTE_ADDR="10.9.0.2").status_code == 302

    def test_wrong_current_passwords_are_limited_and_audited(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        url = reverse("accounts:password_change")
        data = {"password1": "a fresh passphrase 2027", "password2": "a fresh passphrase 2027"}
        for _ in range(5):
            client.post(url, {"current_password": "not it at all", **data})
        response = client.post(url, {"current_password": PASSWORD, **data})
        assert "Too many wrong passwords" in response.content.decode()
        assert actions().count(AccountsAction.PASSWORD_CHECK_FAILED) == 5
