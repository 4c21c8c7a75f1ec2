"""The menu is drawn once per process for each role and language (accounts/templatetags/
nav.py): whoever drew it first, each person still gets their own role's links in their
own language."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<nav aria-label="[^"]*">(.*?)</nav>', re.S)


def href(name: str) -> str:
    return f'href="{reverse(name)}"'


def menu_of(client: Any) -> str:
    response = client.get(reverse("accounts:home"))
    assert response.status_code == 200
    match = NAV.search(response.content.decode())
    assert match is not None
    return match.group(1)


def test_each_role_and_language_gets_its_own_menu(personas: Any, client_for: Any) -> None:
    patient, clinician = client_for(personas.patient), client_for(personas.clinician)
    officer = client_for(personas.privacy_officer)

    english = menu_of(patient)
    assert href("portal:inbox") in english and ">My records<" in english
    staff = menu_of(clinician)
    assert href("messaging:inbox") in staff and href("portal:records") not in staff
    assert href("audit:search") not in staff  # the privacy officer's, drawn after
    assert href("audit:search") in menu_of(officer)
    assert href("audit:search") not in menu_of(clinician)

    personas.patient.language = "es"
    personas.patient.save(update_fields=["language"])
    spanish = menu_of(patient)
    assert ">Mis registros<" in spanish and ">My records<" not in spanish
    assert href("messaging:inbox") not in spanish
    assert ">My records<" in menu_of(client_for(personas.other_patient))
