"""Error pages: a signed-in person never sees a debug page, even with DEBUG on."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import include, path

from tests.conftest import sign_in_client


def _boom(request: Any) -> Any:
    raise RuntimeError("patient Penelope's lab value 5.1 is in a local variable")


urlpatterns = [path("boom/", _boom), path("", include("config.urls"))]


@pytest.fixture
def debug_on(settings: Any) -> None:
    settings.DEBUG = True
    settings.ROOT_URLCONF = __name__
    settings.ALLOWED_HOSTS = ["testserver"]


class TestServerError:
    def test_a_signed_in_person_gets_the_plain_page_with_debug_on(
        self, debug_on: None, personas: Any
    ) -> None:
        client = sign_in_client(Client(raise_request_exception=False), personas.patient)
        response = client.get("/boom/")
        assert response.status_code == 500
        page = response.content.decode()
        assert "Something went wrong on our side" in page
        assert "Penelope" not in page and "Traceback" not in page

    def test_without_a_signed_in_user_the_developer_gets_the_traceback(
        self, debug_on: None
    ) -> None:
        import sys

        from django.contrib.auth.models import AnonymousUser
        from django.test import RequestFactory

        from accounts.debug import SignedInSafeExceptionReporter

        request = RequestFactory().get("/boom/")
        request.user = AnonymousUser()
        try:
            _boom(request)
        except RuntimeError:
            reporter = SignedInSafeExceptionReporter(request, *sys.exc_info())
        assert "RuntimeError" in reporter.get_traceback_html()

    def test_the_demo_does_not_turn_debug_on(self) -> None:
        import subprocess
        import sys

        result = subprocess.run(
            [sys.executable, "-c", "from config import settings; print(settings.DEBUG)"],
            env={"APP_MODE": "demo", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout.strip() == "False"
