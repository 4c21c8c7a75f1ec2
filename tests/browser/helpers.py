"""Steps that several browser journeys share."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings as django_settings
from django.urls import reverse

from accounts.models import AuthenticatorApp
from core.sessions import SESSION_OTP_AT
from tests.accounts.helpers import totp_now
from tests.conftest import PASSWORD


def sign_in_with_totp(page: Any, user: Any) -> None:
    """Password, then the current TOTP code, as a person types them."""
    page.goto(reverse("accounts:sign_in"))
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill(totp_now(AuthenticatorApp.objects.get(user=user)))
    page.get_by_role("button", name="Verify").click()
    page.locator("details[data-menu]").wait_for(state="attached")  # signed in


def second_factor_goes_stale(page: Any) -> None:
    """Time passes: the last second factor is no longer fresh (the session, as stored)."""
    name = django_settings.SESSION_COOKIE_NAME
    [cookie] = [c for c in page.context.cookies() if c["name"] == name]
    engine = import_module(django_settings.SESSION_ENGINE)
    session = engine.SessionStore(session_key=cookie["value"])
    session[SESSION_OTP_AT] = 0
    session.save()


def virtual_authenticator(page: Any) -> None:
    """A platform passkey authenticator in Chromium (CDP) that says yes to everything."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
