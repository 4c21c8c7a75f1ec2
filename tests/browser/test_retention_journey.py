"""Retention end to end in headless Chromium, with axe-core on every screen on the way.

The privacy officer opens Retention, is refused a five-year period for scanned
authorizations (the rule is named), shortens clinical messages to one day, places a
legal hold on the patient, and sees the purge keep the held message; after releasing the
hold the next purge erases it, the history shows it, and the patient's thread says it
was removed under the retention policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from encryption.models import DataKey
from messaging.models import Message
from retention.services import retention_purge
from tests.browser.axe import axe_context, axe_violations, missing_references
from tests.browser.helpers import sign_in_with_totp
from tests.messaging.factories import message_sent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def officer_page(browser: Any, live_server: Any, settings: Any) -> Iterator[Any]:
    settings.PORTAL_BASE_URL = live_server.url
    context = axe_context(browser, live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _accessible(page: Any, found: dict[str, Any], label: str) -> None:
    violations = axe_violations(page) + missing_references(page)
    if violations:
        found[label] = [(v["id"], v["help"]) for v in violations]


def test_a_policy_a_hold_and_a_purge(officer_page: Any, page: Any, personas: Any) -> None:
    message = message_sent(author=personas.clinician, patient=personas.patient, files=[])
    found: dict[str, Any] = {}
    officer = officer_page
    sign_in_with_totp(officer, personas.privacy_officer)
    officer.get_by_role("navigation", name="Main").get_by_role("link", name="Retention").click()
    officer.get_by_role("heading", name="Retention", exact=True).wait_for()
    _accessible(officer, found, "overview")

    officer.get_by_role("link", name="Change Scanned authorization forms").click()
    officer.get_by_label("Keep for").fill("5")
    officer.get_by_label("Unit").select_option("years")
    officer.get_by_role("button", name="Save the policy").click()
    officer.get_by_text("164.530(j)(2)").first.wait_for()
    _accessible(officer, found, "policy refused")

    officer.goto(reverse("retention:overview"))
    officer.get_by_role("link", name="Change Secure messages: clinical").click()
    officer.get_by_label("Keep for").fill("1")
    officer.get_by_label("Unit").select_option("days")
    officer.get_by_role("button", name="Save the policy").click()
    officer.get_by_text("Saved: Secure messages: clinical.").wait_for()

    officer.get_by_role("link", name="Legal holds (0 active)").click()
    officer.get_by_label("Everything of a patient").check()
    officer.get_by_label("Patient's MRN").fill(personas.patient.patient_profile.mrn)
    officer.get_by_label("Reason").fill("Litigation notice 2026-114")
    officer.get_by_role("button", name="Place the hold").click()
    officer.get_by_text("Hold placed: nothing under it").wait_for()
    _accessible(officer, found, "holds")

    two_days_on = timezone.now() + timedelta(days=2)
    retention_purge(trigger="command", now=two_days_on)
    assert DataKey.objects.get(pk=message.data_key_id).destroyed_at is None

    officer.get_by_label("Yes, release it").check()
    officer.get_by_role("button", name="Release").click()
    officer.get_by_text("Hold released: what it kept").wait_for()
    retention_purge(trigger="command", now=two_days_on)
    assert DataKey.objects.get(pk=message.data_key_id).destroyed_at is not None

    officer.goto(reverse("retention:runs"))
    officer.get_by_text("Secure messages: clinical: 1").wait_for()
    _accessible(officer, found, "history")
    assert not found, found

    sign_in_with_totp(page, personas.patient)
    page.goto(reverse("portal:thread", args=[Message.objects.get(pk=message.pk).thread_id]))
    page.get_by_text("under our rules for how long we keep records").first.wait_for()
