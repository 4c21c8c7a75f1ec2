"""A forgotten password: a link to the account's address, one hour, once; the second
factor stays required, every session ends, and nobody learns whether an address has an
account."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actions import AccountsAction
from audit.models import AuditEvent
from tests.accounts.helpers import actions, password_step
from tests.conftest import PASSWORD, body_text

NEW_PASSWORD = "a brand new passphrase for 2027"
RESET = reverse("accounts:password_reset")


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    cache.clear()


def _ask(email: str, django_capture_on_commit_callbacks: Any, **extra: Any) -> Any:
    with django_capture_on_commit_callbacks(execute=True):
        return Client(**extra).post(RESET, {"email": email})


def _link(smtp_server: Any) -> str:
    match = re.search(
        r"https?://\S+?(/password-reset/\S+/\S+/)", body_text(smtp_server.messages[-1])
    )
    assert match, "no reset link in the e-mail"
    return match.group(1)


def _set(link: str, password: str = NEW_PASSWORD) -> tuple[Client, Any]:
    client = Client()
    client.get(link)
    response = client.post(
        reverse("accounts:password_reset_set"), {"password1": password, "password2": password}
    )
    return client, response


class TestAsking:
    def test_a_known_address_gets_a_link_without_health_information(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        _ask(personas.patient.email, django_capture_on_commit_callbacks)
        (mail,) = smtp_server.messages
        assert mail["X-Envelope-To"] == personas.patient.email
        text = body_text(mail).lower()
        assert "one hour" in text or "60 minutes" in text
        assert personas.patient.full_name.lower() not in text
        assert AccountsAction.PASSWORD_RESET_SENT in actions()

    def test_known_and_unknown_addresses_read_the_same(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        def page(email: str) -> str:
            response = _ask(email, django_capture_on_commit_callbacks)
            assert response.status_code == 200
            text = response.content.decode().replace(email, "ADDRESS")
            return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)

        assert page(personas.patient.email) == page("nobody.here@mail.test")
        assert [m["X-Envelope-To"] for m in smtp_server.messages] == [personas.patient.email]

    def test_an_unknown_address_writes_nothing_to_the_audit_trail(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        before = AuditEvent.objects.count()
        _ask("nobody.here@mail.test", django_capture_on_commit_callbacks)
        assert AuditEvent.objects.count() == before

    def test_asking_again_and_again_sends_three_links_at_most(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        for n in range(6):
            response = _ask(
                personas.patient.email,
                django_capture_on_commit_callbacks,
                REMOTE_ADDR=f"10.1.0.{n}",
            )
            assert response.status_code == 200  # the same answer: the limit is not a tell
        assert len(smtp_server.messages) == 3


class TestTheLink:
    def test_a_new_password_ends_every_session_and_still_needs_the_second_factor(
        self,
        personas: Any,
        smtp_server: Any,
        client_for: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        signed_in = client_for(personas.patient)
        _ask(personas.patient.email, django_capture_on_commit_callbacks)
        link = _link(smtp_server)
        with django_capture_on_commit_callbacks(execute=True):
            _, response = _set(link)
        assert response["Location"] == reverse("accounts:sign_in")
        # The old session is over; the new password alone leads to the second factor only.
        assert signed_in.get(reverse("accounts:home"))["Location"].startswith(
            reverse("accounts:sign_in")
        )
        step = password_step(Client(), personas.patient.email, NEW_PASSWORD)
        assert step["Location"].startswith(reverse("accounts:mfa_verify"))
        assert password_step(Client(), personas.patient.email, PASSWORD).status_code == 200
        assert smtp_server.messages[-1]["Subject"].endswith("password was changed")
        assert AccountsAction.PASSWORD_RESET in actions()

    def test_a_link_works_once(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        _ask(personas.patient.email, django_capture_on_commit_callbacks)
        link = _link(smtp_server)
        _set(link)
        assert Client().get(link).status_code == 410

    def test_a_link_expires_after_an_hour(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        _ask(personas.patient.email, django_capture_on_commit_callbacks)
        link = _link(smtp_server)
        with time_machine.travel(timezone.now() + timedelta(minutes=61)):
            assert Client().get(link).status_code == 410

    def test_a_garbage_link_is_logged_not_audited_and_limited(self, db: Any, caplog: Any) -> None:
        before = AuditEvent.objects.count()
        client = Client(REMOTE_ADDR="10.2.0.1")
        statuses = [client.get(f"/password-reset/MQ/garbage-{n}/").status_code for n in range(31)]
        assert statuses[:30] == [410] * 30 and statuses[30] == 429
        assert AuditEvent.objects.count() == before
        assert "password reset link refused" in caplog.text

    def test_the_second_factor_is_untouched(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        from accounts.models import AuthenticatorApp

        before = list(AuthenticatorApp.objects.filter(user=personas.patient).values_list("pk"))
        _ask(personas.patient.email, django_capture_on_commit_callbacks)
        _set(_link(smtp_server))
        assert (
            list(AuthenticatorApp.objects.filter(user=personas.patient).values_list("pk")) == before
        )
