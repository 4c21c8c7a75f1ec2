"""What a person clicks: invitation to first sign-in with TOTP, and passkeys."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuthenticatorApp, User
from accounts.services import patient_enroll
from tests.accounts.helpers import totp_now
from tests.browser.helpers import virtual_authenticator
from tests.conftest import PASSWORD, body_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NEW_PASSWORD = "seven lanterns over a harbour"


def _sign_in_with_password(page: Any, email: str, password: str) -> None:
    page.goto(reverse("accounts:sign_in"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()


def _enter_code(page: Any, code: str) -> None:
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Verify").click()


def test_invited_patient_sets_password_enrolls_totp_and_signs_in_again(
    page: Any, personas: Any, smtp_server: Any, live_server: Any
) -> None:
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
    page.goto(link.group(0))
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save password").click()

    page.get_by_role("heading", name="Set up your authenticator app").wait_for()
    assert page.locator("figure.qr svg").count() == 1
    user = User.objects.get(email="winifred.new@mail.test")
    device = AuthenticatorApp.objects.get(user=user, confirmed=False)
    page.get_by_label("6-digit code from your app").fill(totp_now(device))
    page.get_by_role("button", name="Confirm").click()

    codes = page.get_by_test_id("backup-codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them").click()
    page.get_by_role("heading", name="Hello, Winifred Arkwright").wait_for()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out.").wait_for()
    _sign_in_with_password(page, "winifred.new@mail.test", NEW_PASSWORD)
    device.refresh_from_db()
    _enter_code(page, totp_now(device, offset_steps=1))  # the enrollment code is spent
    page.get_by_role("heading", name="Hello, Winifred Arkwright").wait_for()


def test_a_passkey_is_enrolled_and_then_signs_in(page: Any, personas: Any) -> None:
    virtual_authenticator(page)
    patient = personas.patient
    device = AuthenticatorApp.objects.get(user=patient)
    _sign_in_with_password(page, patient.email, PASSWORD)
    _enter_code(page, totp_now(device))
    page.get_by_role("heading", name=f"Hello, {patient.full_name}").wait_for()

    page.goto(reverse("accounts:passkey_add"))  # goto waits for "load"
    page.get_by_role("button", name="Create a passkey").click()
    page.wait_for_url(re.compile(r"/security/$"))
    page.get_by_role("cell", name="Passkey", exact=True).wait_for()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out.").wait_for()
    _sign_in_with_password(page, patient.email, PASSWORD)
    # The passkey script needs its translation catalogue, loaded async: wait for "load".
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Use a passkey").click()
    page.get_by_role("heading", name=f"Hello, {patient.full_name}").wait_for()
    from django_otp_webauthn.models import WebAuthnCredential

    assert WebAuthnCredential.objects.filter(user=patient, confirmed=True).count() == 1


def test_a_forgotten_password_is_reset_and_the_second_factor_is_still_asked(
    page: Any, personas: Any, smtp_server: Any
) -> None:
    patient = personas.patient
    page.goto(reverse("accounts:sign_in"))
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Your e-mail address").fill(patient.email)
    page.get_by_role("button", name="Send the link").click()
    page.get_by_role("heading", name="Check your e-mail").wait_for()

    link = re.search(r"http://\S+/password-reset/\S+/\S+/", body_text(smtp_server.messages[-1]))
    assert link
    page.goto(link.group(0))
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    page.get_by_text("Your password was changed").wait_for()

    _sign_in_with_password(page, patient.email, NEW_PASSWORD)
    page.get_by_role("heading", name="Second step").wait_for()  # not straight in
    _enter_code(page, totp_now(AuthenticatorApp.objects.get(user=patient)))
    page.get_by_role("heading", name=f"Hello, {patient.full_name}").wait_for()
