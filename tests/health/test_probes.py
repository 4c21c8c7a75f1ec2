"""/healthz and /readyz: what a load balancer and an operator's monitoring ask."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from health.checks import HEARTBEAT_KEY, heartbeat_write
from health.tasks import heartbeat


@pytest.fixture
def probe(settings: Any) -> Client:
    # As a load balancer probes a backend: by address, over plain HTTP, in production.
    settings.ALLOWED_HOSTS = ["portal.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    return Client(HTTP_HOST="10.0.0.7:8001")


class TestLiveness:
    def test_it_answers_ok_by_address_without_redirect(self, probe: Client) -> None:
        response = probe.get("/healthz")
        assert response.status_code == 200
        assert response.content == b"ok\n"
        assert response["Cache-Control"] == "no-store"

    def test_it_sets_no_cookie_and_names_no_version(self, probe: Client) -> None:
        response = probe.get("/healthz")
        assert not response.cookies
        assert "django" not in str(response.items()).lower()

    def test_a_post_is_refused(self, probe: Client) -> None:
        assert probe.post("/healthz").status_code == 405


@pytest.mark.django_db
class TestReadiness:
    @pytest.fixture(autouse=True)
    def redis(self, settings: Any) -> None:
        if not settings.REDIS_URL:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail("REDIS_URL is not set (CI=true: no skipping)")
            pytest.skip("no Redis")
        cache.delete(HEARTBEAT_KEY)

    def test_it_is_ready_with_a_fresh_heartbeat(self, probe: Client) -> None:
        heartbeat()  # what a worker does when beat sends it
        response = probe.get("/readyz")
        assert (response.status_code, response.content) == (200, b"ok\n")

    def test_it_is_not_ready_before_beat_has_run(self, probe: Client) -> None:
        response = probe.get("/readyz")
        assert (response.status_code, response.content) == (503, b"no beat heartbeat yet\n")

    def test_a_stale_heartbeat_is_not_ready(self, probe: Client, settings: Any) -> None:
        cache.set(HEARTBEAT_KEY, time.time() - settings.HEALTH_BEAT_MAX_AGE_SECONDS - 1)
        assert probe.get("/readyz").content == b"beat heartbeat is stale\n"

    def test_redis_down_is_named(self, probe: Client, settings: Any) -> None:
        heartbeat_write()
        settings.REDIS_URL = "redis://127.0.0.1:1/0"
        response = probe.get("/readyz")
        assert (response.status_code, response.content) == (503, b"Redis unavailable\n")

    def test_the_database_down_is_named(self, probe: Client, settings: Any) -> None:
        from django.db import connection

        heartbeat_write()
        real = connection.settings_dict["PORT"]
        connection.settings_dict["PORT"] = "1"
        try:
            response = probe.get("/readyz")
        finally:
            connection.settings_dict["PORT"] = real
        assert (response.status_code, response.content) == (503, b"database unavailable\n")
