from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actions import AccountsAction
from accounts.models import Invitation, User
from audit.models import AuditEvent
from tests.accounts.helpers import actions
from tests.conftest import body_text

NEW_PASSWORD = "plum tree under the quiet bridge"


@pytest.fixture(autouse=True)
def _after_commit(django_capture_on_commit_callbacks: Any) -> Any:
    """The suite's transaction never commits: run on-commit work when each request ends."""
    global _commit
    _commit = django_capture_on_commit_callbacks
    yield


_commit: Any = None


def _post(client: Client, url: str, data: dict[str, Any]) -> Any:
    with _commit(execute=True):
        return client.post(url, data)


def _enroll(client: Client, **overrides: Any) -> Any:
    data = {
        "legal_name": "Henrietta Willoughby-Stone",
        "date_of_birth": "1964-03-09",
        "mrn": "MRN-777123",
        "email": "henrietta.ws@mail.test",
        "identity_method": "photo_id_in_person",
        "identity_confirmed": "on",
        **overrides,
    }
    return _post(client, reverse("accounts:patient_enroll"), data)


def _link(smtp_server: Any) -> str:
    text = body_text(smtp_server.messages[-1])
    match = re.search(r"http://\S+/invitation/\S+/", text)
    assert match, "no invitation link in the e-mail"
    return match.group(0).split("localhost:8000", 1)[-1]


class TestPatientEnrollment:
    def test_clinician_enrolls_a_patient_and_an_invitation_is_mailed(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        response = _enroll(client_for(personas.clinician))
        assert response.status_code == 302
        patient = User.objects.get(email="henrietta.ws@mail.test")
        assert patient.patient_profile.identity_verified_by == personas.clinician
        assert [m["X-Envelope-To"] for m in smtp_server.messages] == ["henrietta.ws@mail.test"]

    def test_the_invitation_email_carries_no_health_information(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        _enroll(client_for(personas.clinician))
        message = smtp_server.messages[-1]
        everything = str(message["Subject"]) + body_text(message)
        for secret in ("Henrietta", "Willoughby", "MRN-777123", "1964", "Cedric", "Nakamura"):
            assert secret not in everything

    def test_identity_must_be_confirmed(self, personas: Any, client_for: Any) -> None:
        response = _enroll(client_for(personas.clinician), identity_confirmed="")
        assert response.status_code == 200
        assert not User.objects.filter(email="henrietta.ws@mail.test").exists()

    def test_hostile_input_is_refused_and_kept(self, personas: Any, client_for: Any) -> None:
        response = _enroll(
            client_for(personas.clinician), mrn="'; DROP TABLE x;--", date_of_birth="2999-01-01"
        )
        body = response.content.decode()
        assert response.status_code == 200
        assert "Letters, digits and hyphens" in body
        assert "Enter a real date of birth" in body
        assert 'value="Henrietta Willoughby-Stone"' in body

    def test_a_duplicate_mrn_is_refused_with_a_reason(self, personas: Any, client_for: Any) -> None:
        response = _enroll(client_for(personas.clinician), mrn="MRN-555001")
        assert "already enrolled" in response.content.decode()

    def test_enrollment_is_audited_without_the_patients_details(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        _enroll(client_for(personas.clinician))
        patient = User.objects.get(email="henrietta.ws@mail.test")
        assert actions(patient_id=patient.pk) == [
            AccountsAction.PATIENT_ENROLLED,
            AccountsAction.CARE_TEAM_ADDED,  # the enrolling clinician joins the care team
            AccountsAction.INVITATION_ISSUED,
        ]


class TestInvitationLink:
    def _invited(self, personas: Any, client_for: Any, smtp_server: Any) -> str:
        _enroll(client_for(personas.clinician))
        return _link(smtp_server)

    def test_the_link_lets_the_patient_set_a_password_then_enroll_mfa(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        link = self._invited(personas, client_for, smtp_server)
        client = Client()
        assert client.get(link)["Location"] == reverse("accounts:invitation_accept")
        response = client.post(
            reverse("accounts:invitation_accept"),
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
        assert response["Location"] == reverse("accounts:mfa_enroll")
        assert client.get(reverse("accounts:home"))["Location"] == reverse("accounts:mfa_enroll")
        patient = User.objects.get(email="henrietta.ws@mail.test")
        assert patient.check_password(NEW_PASSWORD)
        assert patient.email_verified_at is not None

    def test_a_weak_password_is_refused(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        link = self._invited(personas, client_for, smtp_server)
        client = Client()
        client.get(link)
        response = client.post(
            reverse("accounts:invitation_accept"),
            {"password1": "password1234", "password2": "password1234"},
        )
        assert response.status_code == 200
        assert "too common" in response.content.decode()

    def test_a_used_link_is_refused(self, personas: Any, client_for: Any, smtp_server: Any) -> None:
        link = self._invited(personas, client_for, smtp_server)
        client = Client()
        client.get(link)
        client.post(
            reverse("accounts:invitation_accept"),
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
        again = Client().get(link)
        assert again.status_code == 410
        assert "already been used" in again.content.decode()

    def test_an_expired_link_is_refused(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        link = self._invited(personas, client_for, smtp_server)
        with time_machine.travel(timezone.now() + timedelta(hours=73)):
            response = Client().get(link)
        assert response.status_code == 410
        assert "expired" in response.content.decode()

    def test_a_tampered_link_is_refused_and_only_logged(
        self, personas: Any, client_for: Any, smtp_server: Any, caplog: Any
    ) -> None:
        link = self._invited(personas, client_for, smtp_server)
        response = Client().get(link[:-6] + "AAAAA/")
        assert response.status_code == 410
        assert AccountsAction.INVITATION_REFUSED not in actions()
        assert "invitation link refused: invalid" in caplog.text

    def test_garbage_links_never_grow_the_audit_trail(self, db: Any) -> None:
        before = AuditEvent.objects.count()
        for n in range(20):
            assert Client().get(f"/invitation/garbage-{n}/").status_code == 410
        assert AuditEvent.objects.count() == before

    def test_an_expired_real_link_is_audited_against_its_invitation(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        link = self._invited(personas, client_for, smtp_server)
        with time_machine.travel(timezone.now() + timedelta(hours=73)):
            Client().get(link)
        refused = AuditEvent.objects.get(action=AccountsAction.INVITATION_REFUSED)
        assert refused.target_type == "accounts.invitation"
        assert refused.details == {"reason": "expired"}

    def test_a_new_invitation_replaces_the_old_link(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        from accounts.services import invitation_issue

        link = self._invited(personas, client_for, smtp_server)
        patient = User.objects.get(email="henrietta.ws@mail.test")
        with _commit(execute=True):
            invitation_issue(user=patient, actor=personas.clinician)
        response = Client().get(link)
        assert response.status_code == 410
        assert "replaced by a newer one" in response.content.decode()
        assert Invitation.objects.filter(user=patient, revoked_at__isnull=True).count() == 1


class TestInvitationSafety:
    def test_a_link_cannot_take_over_an_account_that_already_has_a_password(
        self, personas: Any, smtp_server: Any
    ) -> None:
        from accounts.services import invitation_issue

        with _commit(execute=True):
            invitation_issue(user=personas.patient, actor=personas.clinician)
        client = Client()
        client.get(_link(smtp_server))
        response = client.post(
            reverse("accounts:invitation_accept"),
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
        assert response.status_code == 410
        personas.patient.refresh_from_db()
        assert not personas.patient.check_password(NEW_PASSWORD)

    def test_opening_a_link_does_not_sign_anyone_out(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        link = TestInvitationLink()._invited(personas, client_for, smtp_server)
        client = client_for(personas.clinician)
        client.get(link)
        assert client.get(reverse("accounts:home")).status_code == 200


class TestStaffAccounts:
    def test_privacy_officer_creates_a_staff_account(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        response = _post(
            client_for(personas.privacy_officer),
            reverse("accounts:staff_create"),
            {"full_name": "Nina Lopez", "email": "nina@clinic.test", "role": "clinician"},
        )
        assert response.status_code == 302
        assert User.objects.get(email="nina@clinic.test").role == "clinician"
        assert len(smtp_server.messages) == 1

    def test_the_patient_role_cannot_be_chosen_for_staff(
        self, personas: Any, client_for: Any
    ) -> None:
        response = client_for(personas.privacy_officer).post(
            reverse("accounts:staff_create"),
            {"full_name": "Nina Lopez", "email": "nina@clinic.test", "role": "patient"},
        )
        assert response.status_code == 200
        assert not User.objects.filter(email="nina@clinic.test").exists()


class TestInvitationDelivery:
    def test_an_invitation_the_broker_lost_is_sent_by_the_sweep(
        self, personas: Any, smtp_server: Any
    ) -> None:
        from accounts.services import invitation_issue, invitations_resend_unsent

        invitation = invitation_issue(user=personas.patient, actor=personas.clinician)
        assert smtp_server.messages == []  # on-commit never ran: as if the broker were down
        with time_machine.travel(timezone.now() + timedelta(minutes=3)):
            assert invitations_resend_unsent() == 1
        invitation.refresh_from_db()
        assert invitation.sent_at is not None
        assert [m["X-Envelope-To"] for m in smtp_server.messages] == [personas.patient.email]

    def test_the_sweep_leaves_sent_invitations_alone(self, personas: Any, smtp_server: Any) -> None:
        from accounts.services import invitation_issue, invitations_resend_unsent

        with _commit(execute=True):
            invitation_issue(user=personas.patient, actor=personas.clinician)
        with time_machine.travel(timezone.now() + timedelta(minutes=3)):
            assert invitations_resend_unsent() == 0
        assert len(smtp_server.messages) == 1


def test_a_failed_invitation_send_names_no_address(personas: Any, settings: Any) -> None:
    from accounts.models import Invitation
    from accounts.tasks import MailNotSent, invitation_send

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens
    invitation = Invitation.objects.create(
        user=personas.patient,
        nonce_hash="x" * 64,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    with pytest.raises(MailNotSent) as failed:
        invitation_send.run(invitation.pk)
    assert personas.patient.email not in str(failed.value)
