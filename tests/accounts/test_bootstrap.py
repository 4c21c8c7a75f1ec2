"""`manage.py bootstrap_privacy_officer`: the first account of a new installation."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from accounts.models import Invitation, Role, User
from accounts.services import invitations_resend_unsent
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _bootstrap(email: str = "olive.first@clinic.test", name: str = "Olive First") -> str:
    out = StringIO()
    call_command("bootstrap_privacy_officer", email=email, name=name, stdout=out)
    return out.getvalue().splitlines()[-1]


class TestBootstrapPrivacyOfficer:
    def test_the_printed_link_opens_the_set_password_page(self) -> None:
        link = _bootstrap()
        response = Client().get(urlsplit(link).path, follow=True)
        assert response.status_code == 200
        assert "olive.first@clinic.test" in response.content.decode()
        user = User.objects.get(email="olive.first@clinic.test")
        assert user.role == Role.PRIVACY_OFFICER and not user.has_usable_password()

    def test_it_takes_no_password_on_the_command_line(self) -> None:
        with pytest.raises(TypeError):
            call_command("bootstrap_privacy_officer", email="a@clinic.test", name="A", password="x")

    def test_running_it_again_before_use_replaces_the_link(self) -> None:
        first = _bootstrap()
        second = _bootstrap()
        assert first != second
        assert Client().get(urlsplit(first).path).status_code == 410
        assert User.objects.filter(role=Role.PRIVACY_OFFICER).count() == 1

    def test_it_refuses_once_a_privacy_officer_has_a_password(self, personas: Any) -> None:
        with pytest.raises(CommandError, match="already has an account"):
            _bootstrap()

    def test_it_refuses_an_address_of_another_role(self) -> None:
        User.objects.create_user(
            email="olive.first@clinic.test", full_name="Olive", role=Role.CLINICIAN
        )
        with pytest.raises(CommandError, match="already exists"):
            _bootstrap()

    def test_it_refuses_a_malformed_address(self) -> None:
        with pytest.raises(CommandError, match="not an e-mail address"):
            _bootstrap(email="not an address")

    def test_the_sweep_never_resends_the_console_link(self, settings: Any) -> None:
        _bootstrap()
        assert invitations_resend_unsent(older_than=timedelta(0)) == 0
        assert Invitation.objects.get().sent_at is not None

    def test_it_is_audited_as_the_command(self) -> None:
        _bootstrap()
        events = AuditEvent.objects.filter(actor_label="command:bootstrap_privacy_officer")
        assert set(events.values_list("action", flat=True)) == {
            "accounts.staff_created",
            "accounts.invitation_issued",
        }
