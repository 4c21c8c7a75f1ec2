from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from audit.context import AuditContext, bound, new_correlation_id
from support.net import client_ip, peer_trusted

FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")


class TrustedProxyMiddleware:
    """Forwarded headers count only when a trusted proxy sent them.

    Without a trusted proxy (``TRUSTED_PROXY_COUNT`` 0) or from any peer outside
    ``TRUSTED_PROXY_ADDRESSES``, ``X-Forwarded-For``/``-Proto``/``-Host`` are removed before
    anything reads them: a client that reaches the app server directly can claim neither
    another address (lockouts, audit) nor HTTPS (secure cookies, HSTS, redirects).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.TRUSTED_PROXY_COUNT == 0 or not peer_trusted(
            request.META.get("REMOTE_ADDR"), settings.TRUSTED_PROXY_NETWORKS
        ):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


def request_client_ip(request: HttpRequest) -> str:
    """The client address, trusting ``X-Forwarded-For`` only as far as TRUSTED_PROXY_COUNT."""
    return client_ip(
        request.META.get("REMOTE_ADDR"),
        request.META.get("HTTP_X_FORWARDED_FOR"),
        settings.TRUSTED_PROXY_COUNT,
    )


class AuditContextMiddleware:
    """Binds request id, client IP, user agent and user for every event of this request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_correlation_id()
        context = AuditContext(
            request_id=request_id,
            ip=request_client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
            request=request,
        )
        with bound(context):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
