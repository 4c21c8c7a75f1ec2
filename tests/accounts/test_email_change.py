"""Changing the notification address: confirmed from the new mailbox, the old one told."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from accounts.models import User
from tests.conftest import body_text

pytestmark = pytest.mark.django_db
NEW = "penelope.new@mail.test"


def request_change(client: Any, capture: Any, new: str = NEW) -> Any:
    with capture(execute=True):
        return client.post(reverse("accounts:email_change"), {"new_email": new})


def link_in(message: Any) -> str:
    match = re.search(r"https?://\S+/security/email/\S+/", body_text(message))
    assert match, "no confirmation link"
    return urlsplit(match.group(0)).path


def test_the_new_address_gets_a_link_and_nothing_changes_yet(
    personas: Any, client_for: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request_change(client_for(personas.patient), django_capture_on_commit_callbacks)
    assert [m["X-Envelope-To"] for m in smtp_server.messages] == [NEW]
    assert User.objects.get(pk=personas.patient.pk).email == "penelope.patient@mail.test"


def test_following_the_link_signed_in_switches_and_tells_the_old_address(
    personas: Any, client_for: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(personas.patient)
    request_change(client, django_capture_on_commit_callbacks)
    link = link_in(smtp_server.messages[0])
    assert client.get(link).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link)
    assert User.objects.get(pk=personas.patient.pk).email == NEW
    told = smtp_server.messages[-1]
    assert told["X-Envelope-To"] == "penelope.patient@mail.test"
    assert "was changed" in told["Subject"]
    assert client.post(link).status_code == 410  # used up


def test_someone_else_following_the_link_gets_nothing(
    personas: Any, client_for: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request_change(client_for(personas.patient), django_capture_on_commit_callbacks)
    link = link_in(smtp_server.messages[0])
    assert client_for(personas.other_patient).post(link).status_code == 410
    assert User.objects.get(pk=personas.patient.pk).email == "penelope.patient@mail.test"


def test_an_address_in_use_gets_the_same_answer_and_nothing_is_sent(
    personas: Any, client_for: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(personas.patient)
    taken = request_change(client, django_capture_on_commit_callbacks, personas.clinician.email)
    free = request_change(client, django_capture_on_commit_callbacks)
    assert taken.status_code == free.status_code == 302
    assert taken["Location"] == free["Location"]
    assert [m["X-Envelope-To"] for m in smtp_server.messages] == [NEW]
    assert User.objects.get(pk=personas.patient.pk).email == "penelope.patient@mail.test"


def test_it_needs_a_fresh_second_factor(personas: Any, client_for: Any) -> None:
    from core.sessions import SESSION_OTP_AT

    client = client_for(personas.patient)
    session = client.session
    session[SESSION_OTP_AT] = 0
    session.save()
    response = client.get(reverse("accounts:email_change"))
    assert response["Location"].startswith(reverse("accounts:mfa_verify"))


def test_a_link_lost_to_a_broker_outage_is_sent_by_the_sweep(
    personas: Any, smtp_server: Any
) -> None:
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from accounts.services import email_change_request, email_changes_resend_unsent

    email_change_request(
        actor=personas.patient, user=personas.patient, new_email=NEW
    )  # no commit hook ran
    assert smtp_server.messages == []
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert email_changes_resend_unsent() == 1
    assert [m["X-Envelope-To"] for m in smtp_server.messages] == [NEW]
    with time_machine.travel(timezone.now() + timedelta(minutes=4)):
        assert email_changes_resend_unsent() == 0
