"""Lockout: django-axes per (account, IP) plus our own per-IP limit across accounts.

Axes alone is keyed on IP or on a combination; keying on IP alone would lock a whole
clinic out behind one NAT, so axes locks the (e-mail, IP) pair and this module adds a
generous per-IP budget of failures across all accounts, kept in the cache (Redis in
production) for the same cool-off window.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from audit.middleware import request_client_ip


def axes_client_ip(request: HttpRequest) -> str:
    return request_client_ip(request)


def lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "accounts/locked_out.html", {"minutes": minutes}, status=429)


def _ip_key(ip: str) -> str:
    return f"signin-failures:ip:{ip}"


def ip_failure_count(ip: str) -> int:
    return int(cache.get(_ip_key(ip), 0))


def ip_failure_add(ip: str) -> int:
    key = _ip_key(ip)
    timeout = int(settings.AXES_COOLOFF_TIME.total_seconds())
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def ip_is_blocked(ip: str) -> bool:
    return ip_failure_count(ip) >= settings.IP_FAILURE_LIMIT
