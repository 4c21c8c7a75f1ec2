"""Workforce policies and the business associates register in headless Chromium, with
axe-core on every compliance screen on the way.

The privacy officer publishes the e-mail and messaging policy, acknowledges it, and adds a
business associate with its scanned agreement. A clinician who signs in afterwards is sent
to the policy from every address they try; once they acknowledge it, they reach the inbox.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from compliance.models import BusinessAssociate, PolicyAcknowledgement
from tests.browser.axe import axe_violations, missing_references
from tests.browser.helpers import sign_in_with_totp
from tests.encryption.pdfs import PDF_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACKNOWLEDGE = reverse("compliance:acknowledge")


def _accessible(page: Any, found: dict[str, Any], label: str) -> None:
    violations = axe_violations(page) + missing_references(page)
    if violations:
        found[label] = [(v["id"], v["help"]) for v in violations]


def test_a_published_policy_gates_staff_until_they_acknowledge_it(
    open_page: Any, personas: Any, tmp_path: Any
) -> None:
    found: dict[str, Any] = {}
    officer = open_page(axe=True)
    sign_in_with_totp(officer, personas.privacy_officer)
    officer.get_by_role("navigation", name="Main").get_by_role("link", name="Compliance").click()
    officer.get_by_role("navigation", name="Compliance records").get_by_role(
        "link", name="Workforce policies"
    ).click()
    officer.get_by_role("heading", name="Workforce policies", exact=True).wait_for()
    _accessible(officer, found, "policies (none published)")

    officer.get_by_role("link", name="Publish of the E-mail and messaging policy").click()
    assert officer.get_by_label("Policy", exact=True).input_value() == "email_messaging"
    officer.get_by_label("Title").fill("E-mail and secure messaging")
    officer.get_by_label("Text of the policy").fill(
        "Patient information travels only as a secure message.\n\nNever by ordinary e-mail."
    )
    _accessible(officer, found, "publish")
    officer.get_by_role("button", name="Publish").click()
    officer.get_by_text("Published: E-mail and secure messaging, version 1.").wait_for()
    _accessible(officer, found, "policy detail")

    # The officer is gated like everyone else (but could still publish a correction).
    officer.goto(reverse("compliance:associates"))
    officer.get_by_role("heading", name="Please read and acknowledge this policy").wait_for()
    _accessible(officer, found, "acknowledge")
    officer.get_by_label("I have read and understood this policy").check()
    officer.get_by_role("button", name="Acknowledge").click()
    officer.get_by_role("heading", name="Business associates", exact=True).wait_for()
    _accessible(officer, found, "associates")

    scan = tmp_path / "northwind-baa.pdf"
    scan.write_bytes(PDF_BYTES)
    officer.get_by_label("Name of the business associate").fill("Northwind Backup Ltd")
    officer.get_by_label("Service it provides").fill("Encrypted off-site backups")
    officer.get_by_label("Agreement signed on").fill("2026-06-01")
    officer.get_by_label("Renewal date").fill("2027-06-01")
    officer.get_by_label("Scan of the signed agreement").set_input_files(str(scan))
    officer.get_by_role("button", name="Add to the register").click()
    officer.get_by_role("heading", name="Northwind Backup Ltd").wait_for()
    _accessible(officer, found, "associate")
    with officer.expect_download() as download:
        officer.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "northwind-baa.pdf"
    assert BusinessAssociate.objects.get().name == "Northwind Backup Ltd"

    clinician = open_page(axe=True)
    sign_in_with_totp(clinician, personas.clinician)
    assert clinician.url.split("?")[0].endswith(ACKNOWLEDGE)
    for address in (reverse("accounts:home"), reverse("directory:search"), "/audit/"):
        clinician.goto(address)
        assert clinician.url.split("?")[0].endswith(ACKNOWLEDGE), address
    clinician.goto(reverse("messaging:inbox"))
    clinician.get_by_text("Never by ordinary e-mail.").wait_for()
    menu = clinician.get_by_role("navigation", name="Main")
    assert menu.get_by_role("link").count() == 0  # nothing to follow but signing out
    _accessible(clinician, found, "acknowledge (clinician)")

    clinician.get_by_role("button", name="Acknowledge").click()  # the box is not ticked
    clinician.get_by_text("Tick the box to say you have read and understood it.").first.wait_for()
    clinician.get_by_label("I have read and understood this policy").check()
    clinician.get_by_role("button", name="Acknowledge").click()
    clinician.get_by_role("heading", name="Secure messages", exact=True).wait_for()
    assert clinician.url.endswith(reverse("messaging:inbox"))
    assert PolicyAcknowledgement.objects.filter(user=personas.clinician).count() == 1
    assert not found, found
