"""Looking after accounts in Chromium: a lost phone recovered through a clerk, a second
clinician joining the care team, and a clinician deactivated while signed in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse
from django_otp.oath import TOTP

from accounts.models import AuthenticatorApp, Role
from tests.accounts.helpers import totp_now
from tests.browser.helpers import sign_in_with_totp
from tests.conftest import PASSWORD, body_text, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def second_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """Another person at another computer: a context with its own cookies."""
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _open_patient(page: Any, patient: Any) -> None:
    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_label("Find a patient").fill(patient.patient_profile.mrn)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=patient.patient_profile.legal_name).click()
    page.get_by_role("heading", name="Care team").wait_for()


def _code_from(key: bytes) -> str:
    return f"{TOTP(key, 30, 0, 6, 0).token():06d}"


def test_a_lost_phone_is_replaced_through_the_records_clerk(
    page: Any, second_page: Any, personas: Any, smtp_server: Any
) -> None:
    patient = personas.patient
    old_key = AuthenticatorApp.objects.get(user=patient).bin_key

    sign_in_with_totp(page, personas.records_clerk)
    _open_patient(page, patient)
    page.get_by_text("Lost phone or backup codes").click()
    page.get_by_label("How you verified their identity").select_option(
        label="Government photo ID, in person"
    )
    page.get_by_label("I have verified this person's identity").check()
    page.get_by_role("button", name="Send the recovery link").click()
    page.get_by_text("Recovery link sent, not used yet").wait_for()  # the account state

    message = smtp_server.messages[-1]
    assert message["X-Envelope-To"] == patient.email
    link = re.search(r"http://\S+?(/recovery/\S+/)", body_text(message))
    assert link
    second_page.goto(link.group(1))
    second_page.get_by_label("E-mail").fill(patient.email)
    second_page.get_by_label("Password").fill(PASSWORD)
    second_page.get_by_role("button", name="Continue").click()
    second_page.get_by_role("heading", name="Set up your authenticator app").wait_for()
    new_device = AuthenticatorApp.objects.get(user=patient, confirmed=False)
    second_page.get_by_label("6-digit code from your app").fill(totp_now(new_device))
    second_page.get_by_role("button", name="Confirm").click()
    second_page.get_by_role("link", name="I have saved them").click()
    second_page.get_by_role("heading", name=f"Hello, {patient.full_name}").wait_for()

    second_page.get_by_role("button", name="Sign out").click()
    second_page.get_by_label("E-mail").fill(patient.email)
    second_page.get_by_label("Password").fill(PASSWORD)
    second_page.get_by_role("button", name="Continue").click()
    second_page.get_by_label("Code").fill(_code_from(old_key))
    second_page.get_by_role("button", name="Verify").click()
    second_page.locator("[data-error-summary]").get_by_text("That code did not work").wait_for()
    assert AuthenticatorApp.objects.filter(user=patient).count() == 1


def test_a_second_clinician_added_to_the_care_team_writes_to_the_patient(
    page: Any, second_page: Any, personas: Any, smtp_server: Any
) -> None:
    patient = personas.patient
    colleague = make_user("dana.colleague@clinic.test", "Dana Oyelaran", Role.CLINICIAN)
    sign_in_with_totp(second_page, colleague)
    second_page.goto(reverse("messaging:compose", args=[patient.pk]))
    second_page.get_by_role("heading", name="We could not find that page").wait_for()

    sign_in_with_totp(page, personas.clinician)
    _open_patient(page, patient)
    page.get_by_label("Add a clinician").select_option(label="Dana Oyelaran")
    page.get_by_role("button", name="Add to the care team").click()
    page.locator("li", has_text="Dana Oyelaran").wait_for()

    second_page.get_by_role("link", name="Patients", exact=True).click()
    _open_patient(second_page, patient)
    second_page.get_by_role("link", name="Write a secure message").click()
    second_page.get_by_label("Subject", exact=True).fill("Physiotherapy next week")
    second_page.get_by_label("Kind of message").select_option(label="Clinical")
    second_page.get_by_label("Message", exact=True).fill("I will see you on Tuesday.")
    second_page.get_by_role("button", name="Send securely").click()
    second_page.wait_for_url(re.compile(r"/messages/threads/[^/]+/$"))
    second_page.get_by_role("heading", name="Physiotherapy next week").wait_for()
    assert smtp_server.messages[-1]["X-Envelope-To"] == patient.email


def test_a_deactivated_clinicians_open_session_is_refused_on_the_next_request(
    page: Any, second_page: Any, personas: Any
) -> None:
    clinician = personas.clinician
    sign_in_with_totp(page, clinician)

    sign_in_with_totp(second_page, personas.privacy_officer)
    second_page.get_by_role("link", name="Staff", exact=True).click()
    second_page.get_by_role("link", name=clinician.full_name).click()
    second_page.get_by_role("button", name="Deactivate the account").click()
    second_page.get_by_text("Deactivated", exact=True).wait_for()

    page.get_by_role("link", name="Messages", exact=True).click()
    page.wait_for_url(re.compile(r"/sign-in/"))
    page.get_by_label("E-mail").fill(clinician.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("do not match an account").wait_for()
    assert "Second step" not in page.content()
