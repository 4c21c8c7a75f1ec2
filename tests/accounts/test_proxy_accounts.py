"""A proxy's own account is signed in and looked after as a patient's: the invitation sets
a password and the first second factor, and the records clerk or the privacy officer
re-invites it or sends a recovery link (45 CFR 164.514(h))."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP

from accounts import policies
from accounts.errors import AccountsError
from accounts.models import IdentityMethod, Role, User
from accounts.services import invitation_resend, recovery_issue
from accounts.services.proxies import proxy_account_for
from tests.accounts.proxy_factories import link_made, make_proxy
from tests.conftest import body_text

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "plum tree under the quiet bridge"
KEY = re.compile(r'data-testid="totp-secret">([A-Z2-7 ]+)<')


def _invited(personas: Any, on_commit: Any) -> User:
    with on_commit(execute=True):
        return proxy_account_for(
            actor=personas.records_clerk, email="gwen.guardian@mail.test", full_name="Gwen Ashby"
        )


def _invitation_path(smtp_server: Any) -> str:
    found = re.search(r"https?://\S+?(/invitation/\S+/)", body_text(smtp_server.messages[-1]))
    assert found, "no invitation link in the e-mail"
    return found.group(1)


def _code_for(page: str) -> str:
    found = KEY.search(page)
    assert found, "no key on the page"
    secret = found.group(1).replace(" ", "")
    secret += "=" * (-len(secret) % 8)
    return f"{TOTP(base64.b32decode(secret)).token():06d}"


class TestProxyInvitation:
    def test_a_new_proxy_sets_a_password_then_enrols_a_second_factor(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        proxy = _invited(personas, django_capture_on_commit_callbacks)
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        client = Client()
        assert client.get(_invitation_path(smtp_server)).status_code == 302
        accepted = client.post(
            reverse("accounts:invitation_accept"),
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
        assert accepted["Location"] == reverse("accounts:mfa_enroll")
        enroll = reverse("accounts:mfa_enroll")
        codes = client.post(enroll, {"code": _code_for(client.get(enroll).content.decode())})
        assert codes.status_code == 200 and "backup" in codes.content.decode().lower()
        proxy.refresh_from_db()
        assert proxy.check_password(NEW_PASSWORD) and proxy.mfa_enrolled_at is not None
        # Signed in past the second factor: a proxy's home sends them to choose a patient.
        home = client.get(reverse("accounts:home"))
        assert home["Location"] == reverse("portal:acting_choose")

    def test_the_invitation_page_speaks_the_proxys_language(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        proxy = _invited(personas, django_capture_on_commit_callbacks)
        User.objects.filter(pk=proxy.pk).update(language="es")
        client = Client()
        client.get(_invitation_path(smtp_server))
        page = client.get(reverse("accounts:invitation_accept"))
        assert page.status_code == 200 and 'lang="es"' in page.content.decode()


class TestWhoLooksAfterAProxyAccount:
    @pytest.mark.parametrize("who", ["records_clerk", "privacy_officer"])
    def test_the_clerk_and_the_officer_recover_and_reinvite_a_proxy(
        self, personas: Any, who: str
    ) -> None:
        staff, proxy = getattr(personas, who), make_proxy()
        assert policies.can_recover(staff, proxy) and policies.can_reinvite(staff, proxy)

    @pytest.mark.parametrize("who", ["clinician", "patient"])
    def test_nobody_else_does(self, personas: Any, who: str) -> None:
        user, proxy = getattr(personas, who), make_proxy()
        assert not policies.can_recover(user, proxy)
        assert not policies.can_reinvite(user, proxy)

    def test_a_proxy_looks_after_no_other_account(self, personas: Any) -> None:
        proxy = make_proxy()
        assert not policies.can_recover(proxy, personas.patient)
        assert not policies.can_reinvite(proxy, make_proxy("other.proxy@mail.test"))

    def test_the_clerk_sends_a_recovery_link_to_the_proxys_address(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        proxy = make_proxy()
        with django_capture_on_commit_callbacks(execute=True):
            recovery_issue(
                actor=personas.records_clerk,
                user=proxy,
                identity_method=IdentityMethod.PHOTO_ID_IN_PERSON,
            )
        assert smtp_server.messages[-1]["X-Envelope-To"] == proxy.email

    def test_a_clinician_cannot_reinvite_a_proxy(
        self, personas: Any, django_capture_on_commit_callbacks: Any, smtp_server: Any
    ) -> None:
        proxy = _invited(personas, django_capture_on_commit_callbacks)
        with pytest.raises(AccountsError, match="cannot invite"):
            invitation_resend(actor=personas.clinician, user=proxy)
        invitation_resend(actor=personas.records_clerk, user=proxy)
        assert proxy.invitations.filter(revoked_at__isnull=True).count() == 1
        assert proxy.role == Role.PROXY
