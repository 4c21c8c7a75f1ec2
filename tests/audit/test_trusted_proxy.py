"""Forwarded headers count only from the proxies in TRUSTED_PROXY_ADDRESSES."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from support.net import networks_parse

pytestmark = pytest.mark.django_db


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = networks_parse(["10.0.0.5"])
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.fixture
def https_only(behind_proxy: None, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True


class TestTrustedProxy:
    def test_https_claimed_by_an_untrusted_peer_is_not_believed(self, https_only: None) -> None:
        response = Client().get(
            "/sign-in/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_PROTO="https"
        )
        assert response.status_code == 301
        assert response["Location"].startswith("https://")

    def test_https_said_by_the_proxy_is_believed(self, https_only: None) -> None:
        response = Client().get("/sign-in/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_PROTO="https")
        assert response.status_code == 200

    def test_an_untrusted_peer_cannot_claim_another_address(self, behind_proxy: None) -> None:
        Client().post(
            "/sign-in/",
            {"username": "nobody@mail.test", "password": "wrong password here"},
            REMOTE_ADDR="203.0.113.9",
            HTTP_X_FORWARDED_FOR="198.51.100.1",
        )
        assert AuditEvent.objects.get(action="accounts.sign_in_failed").ip == "203.0.113.9"

    def test_the_proxy_passes_the_client_address(self, behind_proxy: None) -> None:
        Client().post(
            "/sign-in/",
            {"username": "nobody@mail.test", "password": "wrong password here"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR="198.51.100.1",
        )
        assert AuditEvent.objects.get(action="accounts.sign_in_failed").ip == "198.51.100.1"
