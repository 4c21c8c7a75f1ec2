"""Pages of the live test server in headless Chromium (the ``browser`` fixture is in
tests/conftest.py), at http://localhost.

WebAuthn needs a secure context; http://localhost is one, 127.0.0.1 is not for every
check, so the live server is addressed as localhost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


@pytest.fixture
def open_page(browser: Any, live_server: Any, settings: Any) -> Iterator[Callable[..., Any]]:
    """Pages in fresh contexts of a given size; ``axe=True`` lifts the CSP for that context
    alone (tests/browser/axe.py), and skips (or fails under CI) without axe-core."""
    from tests.browser.axe import axe_context, axe_core_path

    settings.PORTAL_BASE_URL = live_server.url
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    contexts: list[Any] = []

    def open_(width: int = 1280, *, axe: bool = False, height: int = 800, scale: float = 1) -> Any:
        options = {"viewport": {"width": width, "height": height}, "device_scale_factor": scale}
        if axe:
            axe_core_path()  # skip (or fail under CI) before any work is done
            context = axe_context(browser, live_server.url, **options)
        else:
            context = browser.new_context(base_url=live_server.url, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_
    for context in contexts:
        context.close()
