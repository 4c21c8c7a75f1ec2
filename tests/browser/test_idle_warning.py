"""The idle warning: visible before the timeout, "Stay signed in" renews it, then sign-out."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from tests.browser.helpers import sign_in_with_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def short_idle(settings: Any) -> None:
    settings.SESSION_IDLE_TIMEOUT = 8  # warning after 4 s, sign-out after 7 s


def test_the_warning_appears_and_staying_keeps_the_session(
    page: Any, personas: Any, short_idle: None
) -> None:
    sign_in_with_totp(page, personas.patient)
    dialog = page.get_by_role("alertdialog", name="Are you still there?")
    dialog.wait_for(timeout=7000)
    assert dialog.get_by_role("button", name="Stay signed in").evaluate(
        "el => el === document.activeElement"
    )
    dialog.get_by_role("button", name="Stay signed in").click()
    dialog.wait_for(state="hidden")
    page.wait_for_timeout(4500)  # past the first deadline: only the renewal keeps us in
    assert page.url.endswith(reverse("accounts:home"))
    assert Session.objects.count() == 1


def test_without_an_answer_the_browser_signs_out_and_the_server_session_ends(
    page: Any, personas: Any, short_idle: None
) -> None:
    sign_in_with_totp(page, personas.patient)
    page.wait_for_url(f"**{reverse('accounts:sign_in')}", timeout=12000)
    assert page.get_by_text("signed out after 1 minute without activity").is_visible()
    signed_in = [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id")]
    assert signed_in == []
    page.goto(reverse("portal:inbox"))
    assert reverse("accounts:sign_in") in page.url


def test_in_spanish_the_warning_and_its_countdown_read_in_spanish(
    page: Any, personas: Any, short_idle: None
) -> None:
    sign_in_with_totp(page, personas.patient)
    page.get_by_role("button", name="Español").click()  # the account's language from now on
    dialog = page.get_by_role("alertdialog", name="¿Sigue ahí?")
    dialog.wait_for(timeout=7000)
    assert dialog.get_by_role("button", name="Mantener la sesión abierta").is_visible()
    dialog.locator("strong", has_text=re.compile(r"^3 segundos$")).wait_for(timeout=2000)
    dialog.locator("strong", has_text=re.compile(r"^1 segundo$")).wait_for(timeout=3000)
