"""The patient's home and inbox in Chromium at a phone's width and a laptop's: the header
stays one compact row on the phone, the menu opens, what waits is shown with its action,
and axe finds no WCAG 2.1 AA violation. Screenshots go to var/test-artifacts/home/
(git-ignored), named ``<screen>-<width>px.png``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from tests.browser.axe import axe_violations, missing_references
from tests.browser.helpers import sign_in_with_totp
from tests.messaging.factories import message_sent
from tests.records.factories import request_received

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts" / "home"
HEIGHT = 667  # a 375 x 667 phone


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0


def _accessible(page: Any) -> None:
    violations = axe_violations(page) + missing_references(page)
    assert not violations, violations


def _header_height(page: Any) -> float:
    return float(page.evaluate("() => document.querySelector('.site-header').offsetHeight"))


@pytest.mark.parametrize("width", [375, 1280])
def test_home_and_inbox(open_page: Any, personas: Any, width: int) -> None:
    message_sent(author=personas.clinician, patient=personas.patient, files=[])
    request_received(patient=personas.patient)
    page = open_page(width, axe=True, height=HEIGHT)
    sign_in_with_totp(page, personas.patient)

    page.get_by_text("You have 1 new message.").wait_for()
    page.get_by_text("The newest is from Cedric Nakamura, clinician").wait_for()
    page.get_by_text("We will answer by").wait_for()
    _shot(page, f"home-{width}px.png")
    header = _header_height(page)
    menu = page.locator("summary.menu-toggle")
    if width == 375:
        assert header < 0.15 * HEIGHT, f"header {header}px of {HEIGHT}px"
        assert menu.is_visible()
        assert not page.locator("nav[aria-label=Main]").is_visible()
    else:
        assert not menu.is_visible()
        assert page.get_by_role("navigation", name="Main").is_visible()
    _accessible(page)

    if width == 375:
        menu.click()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").wait_for()
        _accessible(page)
        _shot(page, f"home-menu-{width}px.png")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
    else:
        page.get_by_role("link", name="Open your messages").first.click()
    page.wait_for_url(f"**{reverse('portal:inbox')}")
    row = page.locator('[data-testid="thread-row"]').first
    assert "From Cedric Nakamura, clinician" in row.inner_text()
    assert row.locator(".unread-label").inner_text() == "New"
    if width == 375:
        assert _header_height(page) < 0.15 * HEIGHT
    _accessible(page)
    _shot(page, f"inbox-{width}px.png")


def test_backup_codes_print_and_download(page: Any, personas: Any) -> None:
    sign_in_with_totp(page, personas.patient)
    page.goto(reverse("accounts:security"))
    page.get_by_role("button", name="Make new backup codes").click()
    page.get_by_role("heading", name="Your backup codes").wait_for()
    codes = page.locator('[data-testid="backup-codes"] code').all_inner_texts()
    assert len(codes) == 10

    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="Print").click()  # shown by print-page.js
    assert page.evaluate("() => window.printed") == 1
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.get_by_role("button", name="Print").is_visible()
    assert page.locator('[data-testid="backup-codes"]').is_visible()
    page.emulate_media(media="screen")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download as a text file").click()
    download = info.value
    assert download.suggested_filename == "backup-codes.txt"
    text = Path(download.path()).read_text()
    assert all(code in text for code in codes)
