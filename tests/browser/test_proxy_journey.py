"""A parent acting for two children, in headless Chromium (issue 22).

The parent signs in with password and TOTP, is asked whom they act for, reads a message
for one child ("Acting for" always on screen), switches to the other and asks for their
records. The audit names the parent as the actor and each child as the patient.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import PatientProfile, ProxyKind
from audit.models import AuditEvent
from records.models import RecordRequest
from tests.accounts.proxy_factories import link_made, make_proxy
from tests.browser.helpers import sign_in_with_totp
from tests.conftest import make_patient
from tests.messaging.factories import message_sent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def child(email: str, name: str, mrn: str, personas: Any, years: int) -> Any:
    patient = make_patient(email, name, mrn, personas.records_clerk)
    PatientProfile.objects.filter(user=patient).update(
        date_of_birth=timezone.localdate() - timedelta(days=years * 365 + 30)
    )
    patient.refresh_from_db()
    return patient


def test_a_parent_switches_between_two_children(page: Any, personas: Any) -> None:
    older = child("milo.child@mail.test", "Milo Oyelaran", "MRN-777001", personas, years=9)
    younger = child("nia.child@mail.test", "Nia Oyelaran", "MRN-777002", personas, years=6)
    parent = make_proxy("ada.parent@mail.test", "Ada Oyelaran")
    for kid in (older, younger):
        link_made(proxy=parent, patient=kid, by=personas.records_clerk, kind=ProxyKind.PARENT)
    message_sent(
        author=personas.records_clerk,
        patient=older,
        subject="Milo's vaccination record",
        body="Milo is up to date with his vaccinations.",
        files=[],
    )

    sign_in_with_totp(page, parent)
    page.get_by_role("heading", name="Whom are you acting for?").wait_for()
    page.get_by_role("button", name="Act for Milo Oyelaran").click()
    page.get_by_role("note").filter(has_text="Acting for: Milo Oyelaran").wait_for()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
    page.get_by_role("link", name="Milo's vaccination record").click()
    page.get_by_text("Milo is up to date with his vaccinations.").wait_for()
    assert page.get_by_role("note").filter(has_text="Acting for: Milo Oyelaran").is_visible()

    page.get_by_role("link", name="Switch").click()
    page.get_by_role("button", name="Act for Nia Oyelaran").click()
    page.get_by_role("note").filter(has_text="Acting for: Nia Oyelaran").wait_for()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
    assert page.get_by_text("Milo's vaccination record").count() == 0  # Nia's inbox: empty
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Records").click()
    page.get_by_role("link", name="Request a copy").first.click()
    page.get_by_label("Laboratory results").check()
    page.get_by_role("button", name="Send").first.click()
    page.get_by_role("note").filter(has_text="Acting for: Nia Oyelaran").wait_for()

    request = RecordRequest.objects.get()
    assert request.patient_id == younger.pk
    opened = AuditEvent.objects.get(action="messaging.message_opened")
    assert (opened.actor_id, opened.patient_id) == (parent.pk, older.pk)
    received = AuditEvent.objects.get(action="records.request_received")
    assert (received.actor_id, received.patient_id) == (parent.pk, younger.pk)
