"""Each persona's pages, in Chromium at 1280 and 375 px, as that person meets them.

The patient walks the portal in English and in Spanish (the language on the account);
staff pages are English. On every page: axe-core finds no serious or critical WCAG 2.1
A/AA violation, nothing is wider than the window, and a full-page screenshot is kept as
a test artifact under ``var/test-artifacts/walkthrough/`` (git-ignored), named
``<persona>-<language>-<width>px-<page>.png``, e.g. ``patient-es-375px-home.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import AuthenticatorApp
from tests.accounts.helpers import totp_now
from tests.browser.axe import axe_context, axe_core_path, axe_violations
from tests.conftest import PASSWORD
from tests.consent.factories import authorization_signed
from tests.messaging.factories import message_sent
from tests.records.factories import request_received

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts" / "walkthrough"
WIDTHS = (1280, 375)

OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
def world(personas: Any) -> Iterator[dict[str, str]]:
    """A message, a record request and an authorization, so no page is only empty."""
    message = message_sent(author=personas.clinician, patient=personas.patient)
    request = request_received(patient=personas.patient)
    authorization = authorization_signed(patient=personas.patient)
    yield {
        "thread": str(message.thread_id),
        "request": str(request.pk),
        "authorization": str(authorization.pk),
    }


def _pages(persona: str, personas: Any, world: dict[str, str]) -> list[tuple[str, str]]:
    patient = personas.patient
    if persona == "patient":
        return [
            ("home", reverse("accounts:home")),
            ("inbox", reverse("portal:inbox")),
            ("message", reverse("portal:thread", args=[world["thread"]])),
            ("records", reverse("portal:records")),
            ("records-new", reverse("portal:records_new")),
            ("records-detail", reverse("portal:records_detail", args=[world["request"]])),
            ("sharing", reverse("portal:sharing")),
            ("sharing-new", reverse("portal:sharing_new")),
            ("disclosures", reverse("portal:accounting")),
            ("access-history", reverse("audit:my_access_log")),
            ("preferences", reverse("portal:preferences")),
            ("document-password", reverse("portal:document_password")),
            ("security", reverse("accounts:security")),
        ]
    if persona == "clinician":
        return [
            ("home", reverse("accounts:home")),
            ("inbox", reverse("messaging:inbox")),
            ("thread", reverse("messaging:thread", args=[world["thread"]])),
            ("compose", reverse("messaging:compose", args=[patient.pk])),
            ("patient", reverse("directory:patient", args=[patient.pk])),
        ]
    if persona == "records_clerk":
        return [
            ("home", reverse("accounts:home")),
            ("queue", reverse("records:queue")),
            ("request", reverse("records:request", args=[world["request"]])),
            ("new", reverse("records:new_for", args=[patient.pk])),
            ("patient", reverse("directory:patient", args=[patient.pk])),
        ]
    return [
        ("home", reverse("accounts:home")),
        ("audit", reverse("audit:search")),
        ("consent", reverse("consent:patient", args=[patient.pk])),
        ("authorization", reverse("consent:authorization", args=[world["authorization"]])),
        ("retention", reverse("retention:overview")),
        ("delivery", reverse("messaging:delivery_policy")),
        ("staff", reverse("directory:staff_list")),
    ]


def _sign_in(page: Any, user: Any) -> None:
    """Password and TOTP by field name, so the steps read the same in either language."""
    page.goto(reverse("accounts:sign_in"))
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url("**" + reverse("accounts:mfa_verify") + "**")
    page.fill("input[name=code]", totp_now(AuthenticatorApp.objects.get(user=user)))
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(lambda url: reverse("accounts:mfa_verify") not in url)


@pytest.mark.parametrize(
    ("persona", "language"),
    [
        ("patient", "en"),
        ("patient", "es"),
        ("clinician", "en"),
        ("records_clerk", "en"),
        ("privacy_officer", "en"),
    ],
)
def test_each_persona_walks_their_pages_at_both_widths(
    browser: Any,
    live_server: Any,
    settings: Any,
    personas: Any,
    world: dict[str, str],
    persona: str,
    language: str,
) -> None:
    axe_core_path()
    settings.PORTAL_BASE_URL = live_server.url
    user = getattr(personas, persona)
    user.language = language
    user.save(update_fields=["language"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    found: list[str] = []
    # One sign-in (a TOTP code is good once), then each width in turn.
    context = axe_context(browser, live_server.url, viewport={"width": WIDTHS[0], "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _sign_in(page, user)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            for name, url in _pages(persona, personas, world):
                found += _visit(page, url, f"{persona}-{language}-{width}px-{name}", language)
    finally:
        context.close()
    assert not found, "\n".join(found)


def _visit(page: Any, url: str, name: str, language: str) -> list[str]:
    """The page's findings; its screenshot is kept whatever they are."""
    response = page.goto(url)
    if response is None or response.status != 200:
        return [f"{name}: HTTP {response.status if response else '?'}"]
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    found = []
    if page.locator("html").get_attribute("lang") != language:
        found.append(f"{name}: <html lang> is not {language}")
    for violation in axe_violations(page):
        targets = "; ".join(node["target"] for node in violation["nodes"])
        found.append(f"{name}: {violation['id']} {violation['help']} -> {targets}")
    overflow = page.evaluate(OVERFLOW)
    if overflow > 0:
        found.append(f"{name}: {overflow}px wider than the window")
    return found
