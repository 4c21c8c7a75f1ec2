"""Whom a portal page is for: the signed-in patient, or the patient their proxy acts for.

Every portal page that shows or changes a patient's data is wrapped in ``portal_page``
with the scope it needs. For a patient the page is about themselves. For a proxy it is
about the patient chosen on the "Acting for" page (kept in the session, checked against
the link on every request, so an ended link stops the very next click): without a
choice, or after the link stopped reaching them, the proxy is sent to choose; a link
without the page's scope answers 403 with a page that says so. Anyone else: 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render

from accounts import proxies
from accounts.proxies import ACTING_FOR_SESSION_KEY, Acting

View = Callable[..., HttpResponseBase]


def acting_of(request: HttpRequest) -> Acting | None:
    """The request's ``Acting`` (read once per request), or None."""
    if not hasattr(request, "_acting"):
        user: Any = request.user
        chosen = request.session.get(ACTING_FOR_SESSION_KEY) if user.is_authenticated else None
        request._acting = proxies.acting_for(user, chosen)  # type: ignore[attr-defined]
    return request._acting  # type: ignore[attr-defined]


def request_acting(request: HttpRequest) -> Acting:
    """The ``Acting`` a ``portal_page`` view was let in with."""
    acting = acting_of(request)
    assert acting is not None, "only for views behind portal_page"
    return acting


def portal_page(scope: str | None) -> Callable[[View], View]:
    """A portal page for a patient, or for a proxy whose link grants ``scope`` (None: any
    link in force, e.g. a page that only says whom they act for)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user: Any = request.user
            if not (user.is_authenticated and user.uses_portal):
                raise Http404
            acting = acting_of(request)
            if acting is None:  # a proxy who has not chosen, or whose link stopped
                request.session.pop(ACTING_FOR_SESSION_KEY, None)
                return redirect("portal:acting_choose")
            if scope is not None and not acting.may(scope):
                return out_of_scope(request, acting)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def out_of_scope(request: HttpRequest, acting: Acting, reason: str = "") -> HttpResponse:
    """403, saying why: ``reason`` when the page knows better than "not in your scope"."""
    return render(
        request,
        "portal/out_of_scope.html",
        {"acting": acting, "reason": reason, "area": "portal"},
        status=403,
    )
