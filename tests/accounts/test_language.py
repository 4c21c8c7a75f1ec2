"""The language switch: a cookie before sign-in, the account's language after it."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.actions import AccountsAction
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

SWITCH = reverse("accounts:language_set")


def test_before_sign_in_the_choice_is_a_cookie_and_the_page_comes_back(client: Any) -> None:
    response = client.post(SWITCH, {"language": "es", "next": "/password-reset/"})
    assert response.status_code == 302
    assert response["Location"] == "/password-reset/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    page = client.get(reverse("accounts:sign_in")).content.decode()
    assert '<html lang="es">' in page


def test_a_hostile_next_goes_to_the_sign_in_page(client: Any) -> None:
    response = client.post(SWITCH, {"language": "es", "next": "https://evil.example/"})
    assert response["Location"] == reverse("accounts:sign_in")


def test_a_language_not_offered_changes_nothing(client: Any) -> None:
    response = client.post(SWITCH, {"language": "xx"})
    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_a_patient_choice_is_kept_on_the_account_and_audited(
    personas: Any, client_for: Any
) -> None:
    patient = personas.patient
    client = client_for(patient)
    client.post(SWITCH, {"language": "es", "next": reverse("portal:preferences")})
    patient.refresh_from_db()
    assert patient.language == "es"
    event = AuditEvent.objects.get(action=AccountsAction.LANGUAGE_CHANGED)
    assert event.details == {"old": "en", "new": "es"}
    # A fresh browser with no cookie still gets Spanish once signed in.
    page = client_for(patient).get(reverse("portal:preferences")).content.decode()
    assert '<html lang="es">' in page


def test_staff_pages_stay_english_whatever_the_cookie(personas: Any, client_for: Any) -> None:
    client = client_for(personas.clinician)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    page = client.get(reverse("accounts:home")).content.decode()
    assert '<html lang="en">' in page


def test_the_switch_names_each_language_in_its_own_words(client: Any) -> None:
    english = client.get(reverse("accounts:sign_in")).content.decode()
    assert 'lang="es">Español</button>' in english
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    spanish = client.get(reverse("accounts:sign_in")).content.decode()
    assert 'lang="en">English</button>' in spanish
