from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from core.sessions import pending_download_pop


def pending_download(request: HttpRequest) -> dict[str, Callable[[], str]]:
    """The download a fresh second factor let through, taken (once) by the first page
    that shows it: a callable, so a response that renders no page leaves it waiting."""
    return {"pending_download": lambda: pending_download_pop(request)}
