"""A proxy's own pages: choosing whom to act for, and their home page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import proxies
from accounts.models import ProxyScope
from accounts.proxies import ACTING_FOR_SESSION_KEY
from accounts.selectors import request_user
from accounts.services import proxies as proxy_services
from core.decorators import allowed_if
from portal.acting import acting_of

proxies_only = allowed_if(lambda user: user.is_authenticated and user.is_proxy)


@never_cache
@require_http_methods(["GET", "POST"])
@proxies_only
def acting_choose(request: HttpRequest) -> HttpResponse:
    """The patients this proxy may act for today; choosing one scopes every portal page to
    them until the proxy chooses again (or the link stops)."""
    user = request_user(request)
    links = proxies.links_in_force(user)
    refused = False
    if request.method == "POST":
        acting = proxies.acting_for(user, request.POST.get("patient", ""))
        refused = acting is None  # nobody chosen, or someone this proxy cannot act for
    if request.method == "POST" and acting is not None:
        request.session[ACTING_FOR_SESSION_KEY] = acting.patient.pk
        proxy_services.acting_for_record(acting=acting)
        return redirect("accounts:home")
    current = acting_of(request)
    rows: list[dict[str, Any]] = [
        {
            "link": link,
            "scopes": [
                label for code, label in ProxyScope.choices if code in proxies.scopes_in_force(link)
            ],
            "current": current is not None and current.patient.pk == link.patient_id,
        }
        for link in links
    ]
    return render(
        request,
        "portal/acting_choose.html",
        {"rows": rows, "refused": refused, "area": "portal"},
        status=400 if refused else 200,
    )


def proxy_home(request: HttpRequest) -> HttpResponse:
    """A proxy's home: whom they act for and what they may do; sent to choose first."""
    acting = acting_of(request)
    if acting is None:
        return redirect("portal:acting_choose")
    granted = [label for code, label in ProxyScope.choices if acting.may(code)]
    return render(
        request,
        "portal/home_proxy.html",
        {"acting": acting, "granted": granted, "area": "portal"},
    )
