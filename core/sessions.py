"""Session keys and small helpers for sign-in state kept in the session."""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

SESSION_AUTH_AT = "auth_at"  # password step completed (absolute lifetime starts)
SESSION_LAST_SEEN = "last_seen"  # idle timeout
SESSION_OTP_AT = "otp_verified_at"  # last second-factor verification (freshness)
SESSION_INVITATION = "invitation_id"
SESSION_RECOVERY = "recovery_id"  # a recovery link was followed: finish it at sign-in


def now_ts() -> float:
    return time.time()


def last_seen_resolution() -> float:
    """How stale the idle timer's last-seen time may get: 5 s, less for very short timeouts.
    The browser's idle warning signs out at least this long before the server would."""
    return min(5.0, settings.SESSION_IDLE_TIMEOUT / 20)


def mark_otp_verified(request: HttpRequest) -> None:
    request.session[SESSION_OTP_AT] = now_ts()


def otp_is_fresh(request: HttpRequest) -> bool:
    verified_at = request.session.get(SESSION_OTP_AT)
    if verified_at is None:
        return False
    return now_ts() - float(verified_at) <= settings.MFA_FRESHNESS_SECONDS


SESSION_PENDING_DOWNLOAD = "pending_download"  # a download to start on the next page


def safe_local_url(request: HttpRequest, candidate: str | None) -> str:
    """``candidate`` as a path on this site ("/audit/?page=2"), or "" when it points
    anywhere else (another host, another scheme, ``//evil.test``, ``javascript:``)."""
    if not candidate or not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    parts = urlsplit(candidate)
    if not parts.path.startswith("/"):
        return ""
    return urlunsplit(("", "", parts.path, parts.query, ""))


def pending_download_set(request: HttpRequest, url: str) -> None:
    """After a fresh second factor for a download: the page the person came from is shown
    again and starts this download once (components/pending_download.html)."""
    request.session[SESSION_PENDING_DOWNLOAD] = url


def pending_download_pop(request: HttpRequest) -> str:
    session = getattr(request, "session", None)
    if session is None:
        return ""
    return str(session.pop(SESSION_PENDING_DOWNLOAD, "") or "")
