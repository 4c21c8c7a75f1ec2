from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from core.sessions import otp_is_fresh, safe_local_url


def fresh_otp_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Sensitive actions (exports, factor and password changes) need a recent second factor.

    The second-factor step then returns to ``next`` (this URL); ``back`` (the same-site
    page the person came from) is its way out without signing out."""
    return _fresh_otp(view, download=False)


def fresh_otp_required_for_download(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """As ``fresh_otp_required``, for a GET that answers with a file: after the second
    factor the person is back on the page they came from, which starts the download
    (a download shown after the verify form would leave them on that form)."""
    return _fresh_otp(view, download=True)


def _fresh_otp(
    view: Callable[..., HttpResponseBase], *, download: bool
) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not otp_is_fresh(request):
            next_url = request.get_full_path() if request.method == "GET" else request.path
            params = {"next": next_url, "fresh": "1"}
            back = safe_local_url(request, request.headers.get("referer"))
            if back:
                params["back"] = back
                if download and request.method == "GET":
                    params["download"] = "1"
            return redirect(f"{reverse(settings.OTP_VERIFY_URL)}?{urlencode(params)}")
        return view(request, *args, **kwargs)

    return wrapper


def allowed_if(policy: Callable[[Any], bool]) -> Callable[..., Callable[..., HttpResponseBase]]:
    """Outside the policy the page does not exist (404), as for a foreign object."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not policy(request.user):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
