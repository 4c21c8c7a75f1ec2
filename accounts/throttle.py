"""Counting attempts per key across every process (the cache is Redis in production).

Keys are hashed first, so no address or client IP sits in the cache in clear.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from audit.middleware import request_client_ip

# Per 10 minutes: public links (invitation, password reset, recovery) a client address tries.
LINK_TRIES_PER_IP = 30


def attempt_allowed(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt for ``key``; False once more than ``limit`` fell in the window."""
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()
    cache_key = f"throttle:{scope}:{digest}"
    cache.add(cache_key, 0, timeout=window_seconds)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between the two calls
        cache.set(cache_key, 1, timeout=window_seconds)
        count = 1
    return count <= limit


def link_try_allowed(request: HttpRequest) -> bool:
    """Public token URLs (invitation, reset, recovery): a client address tries so many."""
    return attempt_allowed(
        scope="link-ip", key=request_client_ip(request), limit=LINK_TRIES_PER_IP, window_seconds=600
    )


def attempts_over(*, scope: str, key: str, limit: int) -> bool:
    """Already past ``limit`` in the current window (counting nothing)."""
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()
    return int(cache.get(f"throttle:{scope}:{digest}", 0)) >= limit


def too_many_response(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/too_many.html", status=429)
