from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from core.sessions import otp_is_fresh


def fresh_otp_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Sensitive actions (exports, factor and password changes) need a recent second factor."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not otp_is_fresh(request):
            next_url = request.get_full_path() if request.method == "GET" else request.path
            query = urlencode({"next": next_url, "fresh": "1"})
            return redirect(f"{reverse(settings.OTP_VERIFY_URL)}?{query}")
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
