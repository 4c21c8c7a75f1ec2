"""The access matrix (tests/access.py) over every URL of accounts, and the Django admin."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.access import ALL_ROLES, OFFICER, AccessMatrix
from tests.accounts.routes import ROUTES
from tests.conftest import sign_in_client


class TestAccountsAccess(AccessMatrix):
    ROUTES = ROUTES


def test_webauthn_endpoints_refuse_posts_without_csrf(personas: Any) -> None:
    client = sign_in_client(Client(enforce_csrf_checks=True), personas.patient)
    response = client.post(reverse("otp_webauthn:credential-authentication-begin"))
    assert response.status_code == 403


@pytest.mark.parametrize("role", sorted(ALL_ROLES - OFFICER))
def test_the_admin_is_404_for_everyone_but_the_privacy_officer(
    role: str, personas: Any, client_for: Any, request: Any
) -> None:
    if role == "proxy":
        client = request.getfixturevalue("proxy_persona")
    else:
        client = client_for(next(u for u in personas.all() if u.role == role))
    assert client.get(reverse("admin:index")).status_code == 404


def test_the_admin_opens_for_a_verified_privacy_officer(personas: Any, client_for: Any) -> None:
    response = client_for(personas.privacy_officer).get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 200


def test_the_admin_needs_the_second_factor(personas: Any, client_for: Any) -> None:
    response = client_for(personas.privacy_officer, verified=False).get(reverse("admin:index"))
    assert response["Location"].startswith(reverse("accounts:mfa_verify"))
