"""Lockout: django-axes per (account, IP) plus our own per-IP limit across accounts.

Axes alone is keyed on IP or on a combination; keying on IP alone would lock a whole
clinic out behind one NAT, so axes locks the (e-mail, IP) pair and this module adds a
generous per-IP budget of failures across all accounts, kept in the cache (Redis in
production) for the same cool-off window.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
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
    # An IPv6 client controls its whole /64: count the network, not the address.
    address = ipaddress.ip_address(ip)
    if address.version == 6:
        ip = str(ipaddress.ip_network(f"{ip}/64", strict=False))
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


def second_factor_failed(request: HttpRequest, email: str) -> None:
    """A wrong code or a failed passkey counts like a wrong password, per account and per IP.

    django-otp does not tell django-axes about failures; this does.
    """
    user_login_failed.send(sender=__name__, credentials={"username": email}, request=request)
    ip_failure_add(request_client_ip(request))


def second_factor_succeeded(request: HttpRequest, email: str) -> None:
    """Only a completed sign-in clears the (account, IP) failures, never the password alone.

    AXES_RESET_ON_SUCCESS is off because axes would reset at the password step, letting
    someone who knows the password try codes forever, four at a time.
    """
    axes_reset(ip=request_client_ip(request), username=email)
