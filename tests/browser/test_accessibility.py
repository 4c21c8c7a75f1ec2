"""WCAG 2.1 AA on every page a patient, or someone signing in, can meet.

axe-core finds no serious or critical violation (at 1280 px); the portal pages fit a
375 px wide screen and a 1280 px window zoomed to 200% without horizontal scrolling;
the keyboard reaches the skip link first and focus is visible. One page is reused across
the URLs of a group so that a sign-in is paid once: each test collects its findings per
URL and asserts that none were found, so a failure names every page at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuthenticatorApp, Role, User
from accounts.services import patient_enroll
from tests.accounts.helpers import totp_now
from tests.browser.axe import axe_violations, missing_references
from tests.browser.helpers import sign_in_with_totp
from tests.conftest import PASSWORD, body_text
from tests.messaging.factories import message_sent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "nine herons along the canal"


# What was found, per page: axe's violations, or a reflow problem in the same shape.
Findings = dict[str, list[dict[str, Any]]]

FITS = """() => {
  // Django's plain 404 page has no <main>: its body is the content.
  const main = (document.querySelector('main') || document.body).getBoundingClientRect();
  return {
    page: document.documentElement.scrollWidth,
    main: Math.ceil(main.right),
    window: window.innerWidth,
  };
}"""


def _report(found: Findings) -> str:
    lines = []
    for url, violations in found.items():
        for violation in violations:
            targets = "; ".join(node["target"] for node in violation["nodes"])
            lines.append(
                f"{url}: {violation['id']} ({violation['impact']}) {violation['help']} -> {targets}"
            )
    return "\n".join(lines)


def _audit(page: Any, found: Findings, label: str) -> None:
    violations = axe_violations(page) + missing_references(page)
    if violations:
        found[label] = violations


def _overflow(page: Any, found: Findings, label: str) -> None:
    size = page.evaluate(FITS)
    if size["page"] > size["window"] or size["main"] > size["window"]:
        found[label] = [
            {
                "id": "horizontal-scroll",
                "impact": "serious",
                "help": f"page {size['page']} px, main ends at {size['main']} px",
                "nodes": [{"target": f"window {size['window']} px"}],
            }
        ]


def _patient_pages(patient: Any, clinician: Any) -> dict[str, str]:
    """Every page of a signed-in patient, with a thread that has a message and a file."""
    from accounts.models import ProxyKind
    from consent.services import (
        OutsideDisclosure,
        outside_disclosure_record,
        waiver_statement_publish,
    )
    from tests.accounts.proxy_factories import link_made, make_proxy
    from tests.consent.factories import authorization_signed

    officer = User.objects.get(role=Role.PRIVACY_OFFICER)
    link_made(proxy=make_proxy(), patient=patient, by=officer)  # a guardian: read-only here
    caregiver = link_made(
        proxy=make_proxy("casey.caregiver@mail.test", "Casey Okonkwo-Lind"),
        patient=patient,
        by=patient,
        kind=ProxyKind.CAREGIVER,
        ends_on=date.today() + timedelta(days=90),
    )
    message = message_sent(author=clinician, patient=patient, subject="Your blood test results")
    authorization = authorization_signed(patient=patient)
    waiver_statement_publish(actor=officer, text="Ordinary e-mail is not encrypted.")
    outside_disclosure_record(  # the accounting shows one made outside the portal too
        actor=officer,
        patient=patient,
        entry=OutsideDisclosure(
            disclosed_on=date.today() - timedelta(days=2),
            legal_basis="public_health",
            recipient_name="County Health Department",
            recipient_address="1 Civic Plaza",
            description="Notifiable disease report",
            purpose_statement="Required by the state health code",
        ),
    )
    return {
        "home": reverse("accounts:home"),
        "inbox": reverse("portal:inbox"),
        "thread": reverse("portal:thread", args=[message.thread.pk]),
        "my_access_log": reverse("audit:my_access_log"),
        "security": reverse("accounts:security"),
        "password_change": reverse("accounts:password_change"),
        "email_change": reverse("accounts:email_change"),
        "passkey_add": reverse("accounts:passkey_add"),
        "mfa_enroll": reverse("accounts:mfa_enroll"),
        "sharing": reverse("portal:sharing"),
        "sharing_new": reverse("portal:sharing_new"),
        "sharing_detail": reverse("portal:sharing_detail", args=[authorization.pk]),
        "accounting": reverse("portal:accounting"),
        "preferences": reverse("portal:preferences"),
        "proxies": reverse("portal:proxies"),
        "proxy_invite": reverse("portal:proxy_invite"),
        "proxy_revoke": reverse("portal:proxy_revoke", args=[caregiver.pk]),
        "404": reverse("portal:thread", args=["no-such-thread"]),
    }


def _sign_in(page: Any, user: Any, check: Callable[[str], None]) -> None:
    """Through the real form, checking the two sign-in pages on the way."""
    page.goto(reverse("accounts:sign_in"))
    check("sign_in")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").wait_for()
    check("mfa_verify")
    page.get_by_label("Code").fill(totp_now(AuthenticatorApp.objects.get(user=user)))
    page.get_by_role("button", name="Verify").click()
    # The header menu is there once signed in (on a phone its links are folded away).
    page.locator("details[data-menu]").wait_for(state="attached")  # signed in


def _visit_each(page: Any, pages: dict[str, str], check: Callable[[str], None]) -> None:
    for label, url in pages.items():
        response = page.goto(url)
        assert response.status == (404 if label == "404" else 200), label
        # A fresh second factor is needed for some pages: right after sign-in it is.
        assert "/sign-in/" not in page.url, f"{label} sent the patient to {page.url}"
        check(label)


class TestAxeFindsNoSeriousViolations:
    def test_on_the_sign_in_and_refusal_pages(self, open_page: Any, personas: Any) -> None:
        page = open_page(axe=True)
        found: Findings = {}
        page.goto(reverse("accounts:sign_in"))
        _audit(page, found, "sign_in")
        page.get_by_label("E-mail").fill(personas.patient.email)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Continue").click()
        page.locator(".error-summary, .field-error").first.wait_for()
        _audit(page, found, "sign_in with an error")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Code").wait_for()
        _audit(page, found, "mfa_verify")
        page.get_by_label("Code").fill("000000")
        page.get_by_role("button", name="Verify").click()
        page.locator(".field-error").wait_for()
        _audit(page, found, "mfa_verify with an error")
        assert page.goto(reverse("accounts:invitation_open", args=["no-such-token"])).status == 410
        _audit(page, found, "invitation_invalid")
        assert page.goto("/no-such-page/").status == 404
        _audit(page, found, "404")
        assert not found, _report(found)

    def test_on_the_invitation_pages(self, open_page: Any, personas: Any, smtp_server: Any) -> None:
        patient_enroll(
            actor=personas.clinician,
            email="winifred.new@mail.test",
            legal_name="Winifred Arkwright",
            date_of_birth=personas.patient.patient_profile.date_of_birth,
            mrn="MRN-900900",
            identity_method="photo_id_in_person",
        )
        link = re.search(r"http://\S+/invitation/\S+/", body_text(smtp_server.messages[-1]))
        assert link
        page = open_page(axe=True)
        found: Findings = {}
        page.goto(link.group(0))
        _audit(page, found, "invitation_accept")
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("New password again").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Save password").click()
        page.get_by_role("heading", name="Set up your authenticator app").wait_for()
        _audit(page, found, "mfa_enroll (first factor)")
        device = AuthenticatorApp.objects.get(user__email="winifred.new@mail.test", confirmed=False)
        page.get_by_label("6-digit code from your app").fill(totp_now(device))
        page.get_by_role("button", name="Confirm").click()
        page.get_by_role("heading", name="Your backup codes").wait_for()
        _audit(page, found, "backup_codes")
        assert not found, _report(found)

    def test_on_the_patient_pages(self, open_page: Any, personas: Any) -> None:
        pages = _patient_pages(personas.patient, personas.clinician)
        page = open_page(axe=True)
        found: Findings = {}
        sign_in_with_totp(page, personas.patient)
        _visit_each(page, pages, lambda label: _audit(page, found, label))
        page.goto(pages["home"])
        # The idle warning, as static/js/idle-warning.js shows it a minute before sign-out.
        page.evaluate("() => { document.getElementById('idle-warning').hidden = false; }")
        _audit(page, found, "idle warning")
        assert not found, _report(found)

    def test_on_the_activity_review_and_the_outside_disclosure_form(
        self, open_page: Any, personas: Any
    ) -> None:
        from audit.services import event_record

        event_record(
            action="directory.patient_page_viewed",
            actor=personas.clinician,
            patient_id=personas.other_patient.pk,
        )
        event_record(action="accounts.admin_change", actor=personas.privacy_officer)
        page = open_page(axe=True)
        found: Findings = {}
        sign_in_with_totp(page, personas.privacy_officer)
        page.goto(reverse("audit:activity_review"))
        _audit(page, found, "activity_review")
        page.get_by_role("button", name="Mark this period reviewed").click()
        page.locator(".error-summary").wait_for()
        _audit(page, found, "activity_review with an error")
        page.get_by_label("Findings").fill("Nothing to report")
        page.get_by_role("button", name="Mark this period reviewed").click()
        page.get_by_text("Period marked reviewed.").wait_for()
        _audit(page, found, "activity_review reviewed")
        page.goto(reverse("consent:outside_disclosure_record", args=[personas.patient.pk]))
        _audit(page, found, "outside_disclosure_form")
        page.get_by_role("button", name="Record the disclosure").click()
        page.locator(".error-summary").wait_for()
        _audit(page, found, "outside_disclosure_form with errors")
        assert not found, _report(found)

    def test_on_the_guest_pickup_pages(
        self, open_page: Any, personas: Any, smtp_server: Any, settings: Any
    ) -> None:
        from tests.consent.factories import authorization_signed
        from tests.messaging.factories import package_send

        settings.CELERY_TASK_ALWAYS_EAGER = True
        authorization_signed(patient=personas.patient)
        package_send(personas)
        from messaging.guests import guest_link_deliver
        from messaging.models import GuestPackage

        guest_link_deliver(package_id=str(GuestPackage.objects.get().pk))
        link = re.search(r"http://\S+/portal/pickup/\S+/", body_text(smtp_server.messages[-1]))
        assert link
        page = open_page(axe=True)
        found: Findings = {}
        page.goto(link.group(0))
        _audit(page, found, "guest_open")
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Send me a code").wait_for()
        _audit(page, found, "guest_code")
        page.get_by_role("button", name="Send me a code").click()
        code = re.search(r"\b(\d{6})\b", body_text(smtp_server.messages[-1]))
        assert code
        page.get_by_label("One-time code").fill("000000" if code.group(1) != "000000" else "111111")
        page.get_by_role("button", name="Open the information").click()
        page.locator(".field-error, .error-summary").first.wait_for()
        _audit(page, found, "guest_code with an error")
        page.get_by_label("One-time code").fill(code.group(1))
        page.get_by_role("button", name="Open the information").click()
        page.get_by_role("link", name="thyroid.pdf").wait_for()
        _audit(page, found, "guest_package")
        assert not found, _report(found)

    def test_on_the_compliance_dashboard(self, open_page: Any, personas: Any) -> None:
        page = open_page(axe=True)
        found: Findings = {}
        sign_in_with_totp(page, personas.privacy_officer)
        page.goto(reverse("evidence:dashboard"))
        for summary in page.locator("main details > summary").all():
            summary.click()  # the tables behind the figures, opened
        _audit(page, found, "evidence dashboard")
        page.get_by_label("From").fill("2026-10-31")
        page.get_by_label("To (inclusive)").fill("2026-10-01")
        page.get_by_role("button", name="Download the evidence pack").click()
        page.locator(".error-summary").wait_for()
        _audit(page, found, "evidence dashboard with an error")
        assert not found, _report(found)


class TestReflow:
    def test_portal_pages_fit_a_375px_screen(self, open_page: Any, personas: Any) -> None:
        pages = _patient_pages(personas.patient, personas.clinician)
        page = open_page(width=375)
        found: Findings = {}
        _sign_in(page, personas.patient, lambda label: _overflow(page, found, label))
        _visit_each(page, pages, lambda label: _overflow(page, found, label))
        assert not found, _report(found)

    def test_portal_pages_fit_a_1280px_window_at_200_percent_zoom(
        self, open_page: Any, personas: Any
    ) -> None:
        # 200% zoom of a 1280 px window lays out 640 CSS px, each drawn as 2 device pixels.
        pages = _patient_pages(personas.patient, personas.clinician)
        page = open_page(width=640, scale=2)
        found: Findings = {}
        _sign_in(page, personas.patient, lambda label: _overflow(page, found, label))
        _visit_each(page, pages, lambda label: _overflow(page, found, label))
        assert not found, _report(found)


class TestKeyboard:
    # The focused element, its outline, and the outline's contrast with what lies just
    # outside it (WCAG 1.4.11 asks 3:1 of a focus indicator against adjacent colours).
    FOCUSED = """() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      const box = el.getBoundingClientRect();
      const rgba = (colour) => (colour.match(/[\\d.]+/g) || []).map(Number);
      const opaque = (c) => c.length === 3 || (c.length === 4 && c[3] > 0);
      const luminance = (c) => {
        const f = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
      };
      const ring = parseFloat(style.outlineOffset) + parseFloat(style.outlineWidth);
      let behind = document.elementFromPoint(
        Math.max(0, box.left - ring - 2), box.top + box.height / 2);
      let background = [255, 255, 255];
      for (; behind; behind = behind.parentElement) {
        const c = rgba(getComputedStyle(behind).backgroundColor);
        if (opaque(c)) { background = c; break; }
      }
      const [a, b] = [luminance(rgba(style.outlineColor)), luminance(background)];
      return {
        cls: el.className,
        label: el.labels && el.labels[0] && el.labels[0].textContent,
        outline: style.outlineStyle,
        width: parseFloat(style.outlineWidth),
        contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
        onScreen: box.left >= 0 && box.top >= 0,
      };
    }"""

    def _focused(self, page: Any) -> dict[str, Any]:
        focused: dict[str, Any] = page.evaluate(self.FOCUSED)
        return focused

    def _assert_visible_focus(self, focused: dict[str, Any]) -> None:
        assert focused["outline"] != "none" and focused["width"] >= 2
        assert focused["contrast"] >= 3, f"focus outline contrast {focused['contrast']:.2f}:1"

    def test_tab_reaches_the_skip_link_first_and_it_shows_focus(self, open_page: Any) -> None:
        page = open_page()
        page.goto(reverse("accounts:sign_in"))
        page.keyboard.press("Tab")
        focused = self._focused(page)
        assert focused["cls"] == "skip-link"
        assert focused["onScreen"]
        self._assert_visible_focus(focused)

    def test_the_skip_link_then_tab_reaches_the_email_field_with_visible_focus(
        self, open_page: Any
    ) -> None:
        page = open_page()
        page.goto(reverse("accounts:sign_in"))
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        focused = self._focused(page)
        assert focused["label"] == "E-mail"
        self._assert_visible_focus(focused)
