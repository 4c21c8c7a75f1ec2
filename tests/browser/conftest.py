"""Pages of the live test server in headless Chromium (the ``browser`` fixture is in
tests/conftest.py), at http://localhost.

WebAuthn needs a secure context; http://localhost is one, 127.0.0.1 is not for every
check, so the live server is addressed as localhost.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def page(browser: Any, live_server: Any, settings: Any) -> Iterator[Any]:
    settings.PORTAL_BASE_URL = live_server.url
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
